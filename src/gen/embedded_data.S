// The CSVs under data/reference and data/sample, linked into the binary as
// read-only bytes so the product never reads files beside itself at run time.
// CMakeLists.txt passes -Wa,-I<source>/data so .incbin finds them,
// and lists them as OBJECT_DEPENDS so an edited CSV rebuilds this object.
// Each file gets <symbol>_begin and <symbol>_end; embedded_data.cc maps names
// to them.

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

CB_EMBED(citybooks_embed_sf_program, "reference/sf/program.csv")
CB_EMBED(citybooks_embed_sf_type, "reference/sf/type.csv")
CB_EMBED(citybooks_embed_sf_fund, "reference/sf/fund.csv")
CB_EMBED(citybooks_embed_sf_finance, "reference/sf/finance.csv")
CB_EMBED(citybooks_embed_phoenix_sample_rows, "reference/phoenix/sample_rows.csv")
CB_EMBED(citybooks_embed_sample_sf, "sample/sf-spending-revenue.csv")

// No executable stack.
.section .note.GNU-stack, "", @progbits
