#pragma once
// `sluice query ... --plot FILE.png`: draws curves of history values against time with the
// point's limits as dashed lines, into a PNG (cairo, Debian's libcairo2). An absent value
// breaks its curve. The layout is a pure function (PlotLayout) so that a test can find
// where a value was drawn.
//
// Thread safety: pure functions; WritePlotPng writes one file.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::cli {

struct PlotSeries {
  std::string label;
  std::vector<std::pair<int64_t, std::optional<double>>> points;  // (ts_us, value), in time order
  bool stepped = false;  // status points: the value holds until the next one
};

struct PlotRequest {
  std::string title;
  std::vector<PlotSeries> series;
  std::optional<double> high;  // drawn dashed red
  std::optional<double> low;   // drawn dashed blue
  int64_t from_us = 0;
  int64_t to_us = 0;
  int width = 1200;
  int height = 500;
};

// Where things land in the picture: the plotting area and the value range (the values and
// the limits, padded by 5 %).
struct PlotLayout {
  double left = 0, right = 0, top = 0, bottom = 0;  // plotting area, pixels
  double y_min = 0, y_max = 0;
  int64_t from_us = 0, to_us = 0;
  double X(int64_t ts_us) const;
  double Y(double value) const;
};
// kInvalidArgument when there is nothing to draw (no value at all), the range is empty
// (to <= from) or the size is under 200 x 120 or over 10000 x 10000.
Result<PlotLayout> LayOut(const PlotRequest& request);

// The colours of the curves, in order (RGB 0..1), and of the limits.
struct Rgb {
  double r, g, b;
};
Rgb SeriesColour(size_t index);
inline constexpr Rgb kHighColour{0.85, 0.1, 0.1};
inline constexpr Rgb kLowColour{0.1, 0.3, 0.85};

// Draws and writes `path`; the error names the path and cairo's reason.
Status WritePlotPng(const PlotRequest& request, const std::string& path);

}  // namespace sluice::cli
