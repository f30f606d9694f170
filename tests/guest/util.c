/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.c: memory and string functions and the printf-style formatter of
 * the freestanding test guest (see util.h for the supported formats).
 *
 * Plain byte loops on purpose: some of this runs in supervisor mode, where
 * string instructions (rep movs/stos) are emulated one by one on PVM, and
 * the loops must not be turned back into calls to themselves — hence the
 * optimize attribute on the four memory functions.
 */
#include "util.h"

#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LIBCALL void *memset(void *dst, int c, size_t n)
{
	u8 *d = dst;

	while (n--)
		*d++ = (u8)c;
	return dst;
}

NO_LIBCALL void *memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

NO_LIBCALL int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

NO_LIBCALL size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool str_starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}

int parse_u64(const char *s, size_t len, u64 *out)
{
	u64 v = 0;

	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (u64)(s[i] - '0');
	}
	*out = v;
	return 0;
}

struct fmt_spec {
	int width;
	bool zero;
	int longs;
};

static void put_num(fmt_put_fn put, void *ctx, u64 v, u32 base, bool neg,
		    const struct fmt_spec *sp)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (int pad = sp->width - n; pad > 0; pad--)
		put(ctx, sp->zero ? '0' : ' ');
	while (n)
		put(ctx, tmp[--n]);
}

static const char *parse_spec(const char *f, struct fmt_spec *sp)
{
	sp->width = 0;
	sp->zero = false;
	sp->longs = 0;
	if (*f == '0') {
		sp->zero = true;
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	while (*f == 'l') {
		sp->longs++;
		f++;
	}
	return f;
}

static u64 arg_unsigned(va_list *ap, int longs)
{
	return longs ? va_arg(*ap, u64) : va_arg(*ap, u32);
}

static void format_one(fmt_put_fn put, void *ctx, char conv,
		       const struct fmt_spec *sp, va_list *ap)
{
	const char *s;
	s64 sv;

	switch (conv) {
	case 'c':
		put(ctx, (char)va_arg(*ap, int));
		break;
	case 's':
		for (s = va_arg(*ap, const char *); s && *s; s++)
			put(ctx, *s);
		break;
	case 'd':
		sv = sp->longs ? va_arg(*ap, s64) : va_arg(*ap, int);
		put_num(put, ctx, sv < 0 ? -(u64)sv : (u64)sv, 10, sv < 0, sp);
		break;
	case 'u':
		put_num(put, ctx, arg_unsigned(ap, sp->longs), 10, false, sp);
		break;
	case 'x':
		put_num(put, ctx, arg_unsigned(ap, sp->longs), 16, false, sp);
		break;
	default:
		put(ctx, '%');
		put(ctx, conv);
	}
}

void vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap)
{
	struct fmt_spec sp;
	va_list args;

	va_copy(args, ap);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(ctx, *f);
			continue;
		}
		f = parse_spec(f + 1, &sp);
		if (!*f)
			break;
		if (*f == '%')
			put(ctx, '%');
		else
			format_one(put, ctx, *f, &sp, &args);
	}
	va_end(args);
}
