/*
 * utf8 - checking text that arrives as bytes (log lines, mail data) before
 * it goes where only UTF-8 is accepted (PostgreSQL's text, JSON).
 *
 * Valid means what PostgreSQL and RFC 3629 accept: the shortest form, no
 * UTF-16 surrogates, nothing above U+10FFFF, no NUL.
 */
#ifndef RECALL_UTF8_H
#define RECALL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the valid sequence at s[0 .. len), or 0 if it is not one. */
size_t utf8_seq_len(const unsigned char *s, size_t len);

bool utf8_valid(const char *s, size_t len);

/*
 * Replace, in place, every byte of s[0 .. len) that does not belong to a
 * valid sequence with '?' (the length stays the same).  Returns how many
 * bytes were replaced.
 */
size_t utf8_scrub(char *s, size_t len);

#endif
