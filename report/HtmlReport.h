//===- HtmlReport.h - the report as one self-contained HTML page -*- C++ -*-===//
#ifndef KILN_REPORT_HTMLREPORT_H
#define KILN_REPORT_HTMLREPORT_H

#include "report/ReportData.h"

#include <string>

namespace kiln::report {

/// The page: the data as JSON in a <script type="application/json">, the
/// graph's SVG, and the script and style sheet of report/assets inline.
/// The script builds the page and then sets data-kiln-ready="1" on <html>.
std::string writeHtml(const ReportData &data);

/// `data` as the JSON the page's script reads (for tests and tools).
std::string writeJson(const ReportData &data);

} // namespace kiln::report

#endif
