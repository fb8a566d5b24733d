/*
 * routes.c - the service's route table: the one place that knows which
 * paths tokenauthd serves.  The configured validate path is checked
 * against it (the core only checks that it is a URL path).
 */
#include "tokenauthd.h"

#include "td_parse.h"

#include <stdio.h>
#include <string.h>

/*
 * validate's path comes from the configuration (routes[0].path is NULL).
 * A prefix route serves every path below path; it also claims all of
 * owns, the namespace the seed's API keeps for it (no validate path under
 * "/token/", as before).
 */
static const struct td_route routes[] = {
    {TD_EP_VALIDATE, "POST", NULL, 0, NULL, "validate"},
    {TD_EP_GENERATE, "POST", "/generate", 0, NULL, "/generate"},
    {TD_EP_VERIFY, "GET", "/verify", 0, NULL, "/verify"},
    {TD_EP_INTROSPECT, "POST", "/introspect", 0, NULL, "/introspect"},
    {TD_EP_REGISTER, "PUT", TD_REGISTER_PREFIX, 1, "/token/", TD_REGISTER_PREFIX "{admin}"},
    {TD_EP_HEALTHZ, "GET", "/healthz", 0, NULL, "/healthz"},
    {TD_EP_METRICS, "GET", "/metrics", 0, NULL, "/metrics"},
    /* GET and POST (server.c); only with portal = yes, on TLS listeners */
    {TD_EP_PORTAL, "GET", "/my/", 1, NULL, "/my/"},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

const struct td_route *td_route_of(const char *validate_path, const char *url)
{
	if (validate_path != NULL && strcmp(url, validate_path) == 0)
		return &routes[0];
	for (size_t i = 1; i < NROUTES; i++)
		if (routes[i].prefix ? starts_with(url, routes[i].path)
		                     : strcmp(url, routes[i].path) == 0)
			return &routes[i];
	return NULL;
}

int td_route_check_validate(const char *validate_path, char *err, size_t errlen)
{
	const struct td_route *rt = NULL;

	if (validate_path == NULL || validate_path[0] != '/') {
		snprintf(err, errlen, "validate_path: not set to a /path");
		return TA_ERR_CONFIG;
	}
	for (size_t i = 1; i < NROUTES && rt == NULL; i++) {
		const char *claim = routes[i].owns ? routes[i].owns : routes[i].path;
		if ((routes[i].prefix || routes[i].owns) ? starts_with(validate_path, claim)
		                                         : strcmp(validate_path, claim) == 0)
			rt = &routes[i];
	}
	if (rt == NULL)
		return TA_OK;
	if (rt->owns != NULL)
		snprintf(
		    err, errlen,
		    "validate_path = %.200s: paths under %s are reserved for the service's own "
		    "endpoint %s %s; choose another path",
		    validate_path, rt->owns, rt->method, rt->name);
	else
		snprintf(err, errlen,
		         "validate_path = %.200s: this path is the service's own endpoint %s %s; "
		         "choose another path",
		         validate_path, rt->method, rt->name);
	return TA_ERR_CONFIG;
}
