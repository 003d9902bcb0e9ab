//===- HtmlReport.cpp - the report as one self-contained HTML page -------===//
//
// The page carries its data as JSON and builds itself with the script in
// report/assets/report.js (compiled into kiln as a string: the page needs
// no file, font or network beside it). The JSON is written here rather
// than with llvm::json (as the profile's is): the page must escape '<',
// '>' and '&' inside strings, and the attention weights (up to millions of
// numbers) are printed with 4 significant digits, not 17.
//
//===----------------------------------------------------------------------===//
#include "report/HtmlReport.h"

#include <cmath>
#include <cstdio>

namespace kiln::report {

namespace {

#include "report/ReportAssets.inc" // kReportScript, kReportStyle

/// A JSON string. '<' is escaped too, so no text in it can end the <script>
/// element that holds the JSON.
void string(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '<': out += "\\u003c"; break;
    case '>': out += "\\u003e"; break;
    case '&': out += "\\u0026"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += char(c);
      }
    }
  }
  out += '"';
}

/// A JSON array of strings.
void strings(std::string &out, const std::vector<std::string> &values) {
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i)
      out += ',';
    string(out, values[i]);
  }
  out += ']';
}

void number(std::string &out, double v, const char *format = "%.6g") {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  out += buf;
}

void lines(std::string &out, const std::vector<SourceLine> &refs) {
  out += '[';
  for (size_t i = 0; i < refs.size(); ++i)
    out += (i ? ",[" : "[") + std::to_string(refs[i].file) + "," + std::to_string(refs[i].line) + "]";
  out += ']';
}

void key(std::string &out, const char *name, bool first = false) {
  if (!first)
    out += ',';
  string(out, name);
  out += ':';
}

void field(std::string &out, const char *name, const std::string &value, bool first = false) {
  key(out, name, first);
  string(out, value);
}

/// Removes what would let a string end the HTML element around it.
std::string htmlEscape(const std::string &s) {
  std::string out;
  for (char c : s)
    out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
  return out;
}

} // namespace

std::string writeJson(const ReportData &d) {
  std::string o = "{";
  field(o, "model", d.model, true);
  field(o, "entry", d.entry);
  field(o, "version", d.version);
  field(o, "targetCpu", d.targetCpu);
  field(o, "hostCpu", d.hostCpu);
  field(o, "options", d.options);
  field(o, "commandLine", d.commandLine);
  field(o, "created", d.created);
  key(o, "notes");
  strings(o, d.notes);
  key(o, "sources");
  o += '[';
  for (size_t i = 0; i < d.sources.size(); ++i) {
    const SourceFile &f = d.sources[i];
    o += i ? ",{" : "{";
    field(o, "path", f.path, true);
    key(o, "synthesized");
    o += f.synthesized ? "true" : "false";
    key(o, "lines");
    strings(o, f.lines);
    o += '}';
  }
  o += ']';
  key(o, "phases");
  o += '[';
  for (size_t i = 0; i < d.phases.size(); ++i) {
    const PhaseRecord &p = d.phases[i];
    o += i ? ",{" : "{";
    field(o, "name", p.name, true);
    field(o, "summary", p.summary);
    key(o, "seconds");
    number(o, p.seconds);
    key(o, "ops");
    o += std::to_string(p.ops);
    key(o, "fullBytes");
    o += std::to_string(p.fullBytes);
    key(o, "truncated");
    o += p.truncated ? "true" : "false";
    key(o, "passes");
    o += '[';
    for (size_t k = 0; k < p.passes.size(); ++k) {
      o += k ? ",[" : "[";
      string(o, p.passes[k].name);
      o += ',';
      number(o, p.passes[k].seconds);
      o += ']';
    }
    o += ']';
    field(o, "ir", p.ir);
    key(o, "map");
    o += '[';
    for (size_t k = 0; k < p.lineSources.size(); ++k) {
      o += (k ? ",[" : "[") + std::to_string(p.lineSources[k].first) + ",";
      lines(o, p.lineSources[k].second);
      o += ']';
    }
    o += "]}";
  }
  o += ']';
  key(o, "decisions");
  o += '[';
  for (size_t i = 0; i < d.decisions.size(); ++i) {
    o += i ? ",{" : "{";
    field(o, "phase", d.decisions[i].phase, true);
    field(o, "message", d.decisions[i].message);
    key(o, "sources");
    lines(o, d.decisions[i].sources);
    o += '}';
  }
  o += ']';
  key(o, "graph");
  o += '{';
  field(o, "layout", d.graphLayout, true);
  key(o, "nodes");
  o += '{';
  for (size_t i = 0; i < d.graphNodes.size(); ++i) {
    if (i)
      o += ',';
    string(o, d.graphNodes[i].first);
    o += ':';
    lines(o, d.graphNodes[i].second);
  }
  o += "}}";
  key(o, "profile");
  // '<' only occurs inside the profile's strings, where \u003c means the same.
  if (d.profileJson.empty())
    o += "null";
  for (char c : d.profileJson)
    o += c == '<' ? std::string("\\u003c") : std::string(1, c);
  key(o, "attention");
  o += '[';
  for (size_t i = 0; i < d.attention.size(); ++i) {
    const AttentionMap &m = d.attention[i];
    o += i ? ",{" : "{";
    field(o, "title", m.title, true);
    key(o, "sources");
    lines(o, m.sources);
    key(o, "perStep");
    o += m.perStep ? "true" : "false";
    key(o, "rows");
    o += std::to_string(m.rows);
    key(o, "cols");
    o += std::to_string(m.cols);
    key(o, "weights");
    o += '[';
    for (size_t k = 0; k < m.weights.size(); ++k) {
      if (k)
        o += ',';
      number(o, m.weights[k], "%.4g");
    }
    o += "]}";
  }
  o += ']';
  key(o, "positionLabels");
  strings(o, d.positionLabels);
  key(o, "stepLabels");
  strings(o, d.stepLabels);
  o += '}';
  return o;
}

std::string writeHtml(const ReportData &data) {
  std::string html;
  html += "<!doctype html>\n<html lang=\"en\" data-kiln-ready=\"0\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>kiln report: ";
  html += htmlEscape(data.model);
  html += "</title>\n<style>\n";
  html += kReportStyle;
  html += "</style>\n</head>\n<body>\n<noscript>This report builds itself with JavaScript: "
          "open it in a browser with scripts on.</noscript>\n<div id=\"k-app\"></div>\n"
          "<div id=\"k-graph-svg\" hidden>\n";
  html += data.graphSvg; // made by kiln or by Graphviz from escaped labels
  html += "</div>\n<script type=\"application/json\" id=\"k-data\">";
  html += writeJson(data);
  html += "</script>\n<script>\n";
  html += kReportScript;
  html += "</script>\n</body>\n</html>\n";
  return html;
}

} // namespace kiln::report
