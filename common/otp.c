/*
 * otp.c - HOTP/TOTP computation and checking.
 */
#include "otp.h"
#include "ta.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const uint32_t powers_of_ten[] = {1,      10,      100,      1000,     10000,
                                         100000, 1000000, 10000000, 100000000};

/* The code of counter under a key set up once (RFC 4226 section 5.3). */
static int code_keyed(struct ta_hmac_key *k, unsigned digits, uint64_t counter, uint32_t *code)
{
	uint8_t msg[8], mac[64];
	size_t maclen = 0;
	unsigned off;
	uint32_t bin;
	int r;

	if (digits < 6 || digits > 8)
		return TA_ERR_INPUT;
	for (int i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (uint8_t)counter;
	if ((r = ta_hmac_keyed(k, msg, sizeof(msg), mac, &maclen)) != TA_OK)
		return r;
	off = mac[maclen - 1] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
	      ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
	*code = bin % powers_of_ten[digits];
	ta_wipe(mac, sizeof(mac));
	return TA_OK;
}

int ta_otp_code(const uint8_t *secret, size_t secret_len, ta_hash_alg alg, unsigned digits,
                uint64_t counter, uint32_t *code)
{
	struct ta_hmac_key k;
	int r = ta_hmac_key(&k, alg, secret, secret_len);

	if (r == TA_OK)
		r = code_keyed(&k, digits, counter, code);
	ta_hmac_key_end(&k);
	return r;
}

static int parse_code(const char *code, size_t len, unsigned digits, uint32_t *out)
{
	uint32_t v = 0;

	if (len != digits)
		return TA_ERR_REJECTED;
	for (size_t i = 0; i < len; i++) {
		if (code[i] < '0' || code[i] > '9')
			return TA_ERR_REJECTED;
		v = v * 10 + (uint32_t)(code[i] - '0');
	}
	*out = v;
	return TA_OK;
}

/* Constant-time select: returns a if cond (0/1) else b. */
static uint64_t sel(uint64_t cond, uint64_t a, uint64_t b)
{
	uint64_t m = 0 - cond;
	return (a & m) | (b & ~m);
}

int ta_otp_check(const struct ta_otp_params *p, const uint8_t *secret, size_t secret_len,
                 const char *code, size_t code_len, uint64_t next, int64_t now, unsigned window,
                 unsigned lookahead, uint64_t *new_next)
{
	uint64_t first, last, found = 0, hit = 0, replay = 0;
	struct ta_hmac_key k;
	uint32_t want = 0;
	int r = TA_OK;

	if (parse_code(code, code_len, p->digits, &want) != TA_OK)
		return TA_ERR_REJECTED;
	if (p->type == TA_OTP_HOTP) {
		/* one counter back too, so the same code twice reads as a replay */
		first = next > 0 ? next - 1 : 0;
		last = next + lookahead;
	} else {
		uint64_t step;
		if (p->period == 0 || now < 0)
			return TA_ERR_INPUT;
		step = (uint64_t)now / p->period;
		first = step >= window ? step - window : 0;
		last = step + window;
	}
	/* Try every candidate, always all of them, so timing reveals nothing;
	 * the secret keys the MAC once for them all. */
	if ((r = ta_hmac_key(&k, p->alg, secret, secret_len)) != TA_OK) {
		ta_hmac_key_end(&k);
		return r;
	}
	for (uint64_t c = first; c <= last; c++) {
		uint32_t got = 0;
		uint64_t match, fresh;
		if ((r = code_keyed(&k, p->digits, c, &got)) != TA_OK)
			break;
		match = (uint64_t)ta_ct_eq(&got, &want, sizeof(got));
		fresh = (uint64_t)(c >= next);
		found = sel(match & fresh & (1 - hit), c, found);
		hit |= match & fresh;
		replay |= match & (1 - fresh);
	}
	ta_hmac_key_end(&k);
	if (r != TA_OK)
		return r;
	if (hit) {
		*new_next = found + 1;
		return TA_OK;
	}
	return replay ? TA_ERR_REPLAY : TA_ERR_REJECTED;
}

ta_hash_alg ta_otp_alg_parse(const char *s)
{
	if (strcasecmp(s, "SHA1") == 0)
		return TA_HASH_SHA1;
	if (strcasecmp(s, "SHA256") == 0)
		return TA_HASH_SHA256;
	if (strcasecmp(s, "SHA512") == 0)
		return TA_HASH_SHA512;
	return 0;
}

const char *ta_otp_alg_name(ta_hash_alg alg)
{
	switch (alg) {
	case TA_HASH_SHA1: return "SHA1";
	case TA_HASH_SHA256: return "SHA256";
	case TA_HASH_SHA512: return "SHA512";
	}
	return "?";
}

/* Percent-encode s into out; returns bytes written or -1 if it does not fit. */
static int pct(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		            c == '~' || c == '@';
		if (o + 4 > cap)
			return -1;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return (int)o;
}

int ta_otp_uri(const struct ta_otp_params *p, const uint8_t *secret, size_t secret_len,
               const char *issuer, const char *account, uint64_t counter, char *out, size_t cap)
{
	char b32[TA_OTP_MAX_SECRET * 2], iss[512], acc[1024], extra[48];
	int n;

	if (secret_len > TA_OTP_MAX_SECRET ||
	    ta_base32_encode(secret, secret_len, b32, sizeof(b32)) != TA_OK ||
	    pct(issuer, iss, sizeof(iss)) < 0 || pct(account, acc, sizeof(acc)) < 0)
		return TA_ERR_INPUT;
	if (p->type == TA_OTP_HOTP)
		snprintf(extra, sizeof(extra), "counter=%llu", (unsigned long long)counter);
	else
		snprintf(extra, sizeof(extra), "period=%u", p->period);
	n = snprintf(out, cap, "otpauth://%s/%s%s%s?secret=%s&issuer=%s&algorithm=%s&digits=%u&%s",
	             p->type == TA_OTP_HOTP ? "hotp" : "totp", iss, iss[0] ? ":" : "", acc, b32,
	             iss, ta_otp_alg_name(p->alg), p->digits, extra);
	ta_wipe(b32, sizeof(b32));
	if (n < 0 || (size_t)n >= cap) {
		ta_wipe(out, cap);
		return TA_ERR_INPUT;
	}
	return TA_OK;
}
