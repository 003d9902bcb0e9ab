# Writes OUT: the page's script and style sheet as C++ raw string literals.
file(READ ${SCRIPT} script)
file(READ ${STYLE} style)
foreach(text script style)
  string(FIND "${${text}}" ")kiln_asset\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${text} contains the raw string's delimiter")
  endif()
endforeach()
file(WRITE ${OUT} "// Generated from report/assets by EmbedAssets.cmake: do not edit.\n"
  "const char *const kReportScript = R\"kiln_asset(${script})kiln_asset\";\n"
  "const char *const kReportStyle = R\"kiln_asset(${style})kiln_asset\";\n")
