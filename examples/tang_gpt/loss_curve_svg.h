// The loss curve of a training run as a self-contained SVG file (no
// plotting library): training loss per step (light) and its running mean,
// validation loss at each evaluation (dots), axes with ticks and labels.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

struct LossCurve {
  std::vector<double> train;                    // loss of step 1, 2, ...
  std::vector<std::pair<int64_t, double>> val;  // (step, validation loss)
};

inline bool writeLossCurveSvg(const std::string &path, const LossCurve &curve, const std::string &title) {
  const double W = 720, H = 420, left = 60, right = 20, top = 40, bottom = 50;
  const double plotW = W - left - right, plotH = H - top - bottom;
  int64_t steps = std::max<int64_t>(1, int64_t(curve.train.size()));
  double lo = 1e300, hi = -1e300;
  for (double v : curve.train)
    if (std::isfinite(v))
      lo = std::min(lo, v), hi = std::max(hi, v);
  for (auto [s, v] : curve.val)
    if (std::isfinite(v))
      lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > hi)
    lo = 0, hi = 1;
  lo = std::floor(lo), hi = std::ceil(hi);
  if (hi <= lo)
    hi = lo + 1;
  auto x = [&](double step) { return left + plotW * step / double(steps); };
  auto y = [&](double loss) { return top + plotH * (hi - loss) / (hi - lo); };
  std::ofstream svg(path);
  if (!svg)
    return false;
  char buf[512];
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::snprintf(buf, sizeof buf, "<text x=\"%g\" y=\"24\" font-size=\"15\">%s</text>\n", left, title.c_str());
  svg << buf;
  // Axes, grid and ticks: about 6 on each axis at round values.
  auto niceStep = [](double range) {
    double raw = range / 6, p = std::pow(10, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
      if (m * p >= raw)
        return m * p;
    return 10 * p;
  };
  for (double v = lo, d = niceStep(hi - lo); v <= hi + 1e-9; v += d) {
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                  "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                  left, y(v), left + plotW, y(v), left - 6, y(v) + 4, v);
    svg << buf;
  }
  for (double s = 0, d = std::max(1.0, niceStep(double(steps))); s <= double(steps) + 1e-9; s += d) {
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"#ddd\"/>"
                  "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%g</text>\n",
                  x(s), top, x(s), top + plotH, x(s), top + plotH + 16, s);
    svg << buf;
  }
  std::snprintf(buf, sizeof buf,
                "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"black\"/>\n"
                "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">step</text>\n"
                "<text transform=\"translate(16 %g) rotate(-90)\" text-anchor=\"middle\">cross-entropy (nats)</text>\n",
                left, top, plotW, plotH, left + plotW / 2, H - 12, top + plotH / 2);
  svg << buf;
  auto polyline = [&](const std::vector<std::pair<double, double>> &points, const char *style) {
    svg << "<polyline fill=\"none\" " << style << " points=\"";
    for (auto [s, v] : points)
      if (std::isfinite(v)) {
        std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x(s), y(std::clamp(v, lo, hi)));
        svg << buf;
      }
    svg << "\"/>\n";
  };
  std::vector<std::pair<double, double>> raw, mean, val;
  double window = 0;
  const int64_t span = std::max<int64_t>(1, steps / 50);
  for (int64_t i = 0; i < int64_t(curve.train.size()); ++i) {
    raw.push_back({double(i + 1), curve.train[i]});
    window += curve.train[i];
    if (i >= span)
      window -= curve.train[i - span];
    mean.push_back({double(i + 1), window / double(std::min<int64_t>(i + 1, span))});
  }
  for (auto [s, v] : curve.val)
    val.push_back({double(s), v});
  polyline(raw, "stroke=\"#9ecae1\" stroke-width=\"1\"");
  polyline(mean, "stroke=\"#2171b5\" stroke-width=\"2\"");
  polyline(val, "stroke=\"#e6550d\" stroke-width=\"2\"");
  for (auto [s, v] : val) {
    std::snprintf(buf, sizeof buf, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#e6550d\"/>\n", x(s),
                  y(std::clamp(v, lo, hi)));
    svg << buf;
  }
  std::snprintf(buf, sizeof buf,
                "<g transform=\"translate(%g %g)\"><rect width=\"190\" height=\"46\" fill=\"white\" stroke=\"#999\"/>"
                "<line x1=\"8\" y1=\"14\" x2=\"30\" y2=\"14\" stroke=\"#2171b5\" stroke-width=\"2\"/>"
                "<text x=\"36\" y=\"18\">training (running mean)</text>"
                "<line x1=\"8\" y1=\"32\" x2=\"30\" y2=\"32\" stroke=\"#e6550d\" stroke-width=\"2\"/>"
                "<text x=\"36\" y=\"36\">validation</text></g>\n",
                left + plotW - 200, top + 10);
  svg << buf << "</svg>\n";
  return bool(svg);
}
