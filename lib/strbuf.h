/* Renamed: libconfig exports strbuf_release()/strbuf_append(), which
 * collided with ours at link time.  Use "sbuf.h" (struct sbuf, sbuf_*). */
#error "lib/strbuf.h is now lib/sbuf.h: struct sbuf, SBUF_INIT, sbuf_add(), ..."
