/*
 * backend.c - the table of verification backends.  Adding one: a new
 * backend_<name>.c defining `const struct ta_backend ta_backend_<name>`,
 * and a row here.
 */
#include "backend.h"

#include <stdio.h>
#include <string.h>

static const struct ta_backend *const table[] = {
    &ta_backend_local,
    &ta_backend_remote,
    &ta_backend_jwt,
};

#define NBACKENDS (sizeof(table) / sizeof(table[0]))

const struct ta_backend *ta_backend_find(const char *name, size_t n)
{
	for (size_t i = 0; i < NBACKENDS; i++)
		if (strlen(table[i]->name) == n && memcmp(table[i]->name, name, n) == 0)
			return table[i];
	return NULL;
}

char *ta_backend_names(char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NBACKENDS && o < cap; i++) {
		const char *sep = i == 0 ? "" : i + 1 == NBACKENDS ? " and/or " : ", ";
		int n = snprintf(buf + o, cap - o, "%s%s", sep, table[i]->name);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return buf;
}
