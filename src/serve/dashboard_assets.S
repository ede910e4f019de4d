// The dashboard (index.html, app.js, app.css) that web/build.mjs writes into
// the build folder, linked into the binary as read-only bytes so `serve`
// needs no files beside itself and works offline. CMakeLists.txt passes
// -Wa,-I<build>/web so .incbin finds them and lists them as OBJECT_DEPENDS so
// a rebuilt dashboard relinks. Each file gets <symbol>_begin and _end.

#define CB_EMBED(symbol, path)       \
  .section .rodata.citybooks_embed;  \
  .balign 16;                        \
  .global symbol##_begin;            \
  .hidden symbol##_begin;            \
  .global symbol##_end;              \
  .hidden symbol##_end;              \
  symbol##_begin:                    \
  .incbin path;                      \
  symbol##_end:                      \
  .byte 0

CB_EMBED(citybooks_dashboard_index_html, "index.html")
CB_EMBED(citybooks_dashboard_app_js, "app.js")
CB_EMBED(citybooks_dashboard_app_css, "app.css")

// No executable stack.
.section .note.GNU-stack, "", @progbits
