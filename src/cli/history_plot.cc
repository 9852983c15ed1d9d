#include "cli/history_plot.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <memory>

#include <cairo.h>
#include <fmt/format.h>

namespace sluice::cli {
namespace {

constexpr double kMarginLeft = 80, kMarginRight = 20, kMarginTop = 40, kMarginBottom = 50;

// About `count` round steps over [lo, hi]: 1, 2 or 5 times a power of ten.
double NiceStep(double span, int count) {
  const double raw = span / count;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * magnitude) return m * magnitude;
  }
  return 10 * magnitude;
}

// A round time step (in seconds) for about `count` ticks over `span_s`.
int64_t TimeStep(double span_s, int count) {
  static constexpr int64_t kSteps[] = {1,    2,    5,    10,    15,    30,    60,     120,
                                       300,  600,  900,  1800,  3600,  7200,  10800,  21600,
                                       43200, 86400, 172800, 604800, 2592000, 31536000};
  for (int64_t s : kSteps) {
    if (span_s / static_cast<double>(s) <= count) return s;
  }
  return kSteps[std::size(kSteps) - 1];
}

std::string TimeLabel(int64_t ts_us, int64_t step_s) {
  const std::time_t t = static_cast<std::time_t>(ts_us / 1'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const char* format = step_s >= 86400 ? "%Y-%m-%d" : step_s >= 60 ? "%m-%d %H:%M" : "%H:%M:%S";
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

struct CairoDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};

void SetColour(cairo_t* cr, Rgb c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

void Text(cairo_t* cr, double x, double y, const std::string& text, double align) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  cairo_move_to(cr, x - e.width * align, y);
  cairo_show_text(cr, text.c_str());
}

}  // namespace

double PlotLayout::X(int64_t ts_us) const {
  return left + (right - left) * static_cast<double>(ts_us - from_us) /
                    static_cast<double>(to_us - from_us);
}

double PlotLayout::Y(double value) const {
  return bottom - (bottom - top) * (value - y_min) / (y_max - y_min);
}

Result<PlotLayout> LayOut(const PlotRequest& request) {
  if (request.width < 200 || request.height < 120 || request.width > 10000 || request.height > 10000) {
    return Status::InvalidArgument(fmt::format("plot size {}x{} is outside 200x120 .. 10000x10000",
                                               request.width, request.height));
  }
  if (request.to_us <= request.from_us) {
    return Status::InvalidArgument("plot: the time range is empty (to <= from)");
  }
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : request.series) {
    for (const auto& [ts, v] : s.points) {
      if (!v || !std::isfinite(*v)) continue;
      lo = std::min(lo, *v);
      hi = std::max(hi, *v);
    }
  }
  if (!std::isfinite(lo)) return Status::InvalidArgument("plot: no value to draw in the range");
  for (const auto& limit : {request.high, request.low}) {
    if (limit && std::isfinite(*limit)) {
      lo = std::min(lo, *limit);
      hi = std::max(hi, *limit);
    }
  }
  const double pad = hi > lo ? (hi - lo) * 0.05 : std::max(1.0, std::abs(hi) * 0.05);
  PlotLayout l;
  l.left = kMarginLeft;
  l.right = request.width - kMarginRight;
  l.top = kMarginTop;
  l.bottom = request.height - kMarginBottom;
  l.y_min = lo - pad;
  l.y_max = hi + pad;
  l.from_us = request.from_us;
  l.to_us = request.to_us;
  return l;
}

Rgb SeriesColour(size_t index) {
  static constexpr Rgb kColours[] = {{0.0, 0.45, 0.2},  {0.55, 0.3, 0.0}, {0.45, 0.1, 0.6},
                                     {0.0, 0.5, 0.55},  {0.4, 0.4, 0.4},  {0.6, 0.5, 0.0}};
  return kColours[index % std::size(kColours)];
}

Status WritePlotPng(const PlotRequest& request, const std::string& path) {
  SLUICE_ASSIGN_OR_RETURN(PlotLayout l, LayOut(request));
  std::unique_ptr<cairo_surface_t, CairoDeleter> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, request.width, request.height));
  std::unique_ptr<cairo_t, CairoDeleter> context(cairo_create(surface.get()));
  cairo_t* cr = context.get();
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);

  // Grid and axis labels.
  cairo_set_line_width(cr, 1);
  const double ystep = NiceStep(l.y_max - l.y_min, 6);
  for (double v = std::ceil(l.y_min / ystep) * ystep; v <= l.y_max; v += ystep) {
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, l.left, std::round(l.Y(v)) + 0.5);
    cairo_line_to(cr, l.right, std::round(l.Y(v)) + 0.5);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    Text(cr, l.left - 6, l.Y(v) + 4, fmt::format("{:.6g}", std::abs(v) < ystep * 1e-9 ? 0.0 : v), 1.0);
  }
  const int64_t tstep_s = TimeStep(static_cast<double>(l.to_us - l.from_us) / 1e6, 8);
  const int64_t tstep_us = tstep_s * 1'000'000;
  for (int64_t t = (l.from_us + tstep_us - 1) / tstep_us * tstep_us; t <= l.to_us; t += tstep_us) {
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, std::round(l.X(t)) + 0.5, l.top);
    cairo_line_to(cr, std::round(l.X(t)) + 0.5, l.bottom);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    Text(cr, l.X(t), l.bottom + 18, TimeLabel(t, tstep_s), 0.5);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, l.left + 0.5, l.top + 0.5, l.right - l.left, l.bottom - l.top);
  cairo_stroke(cr);
  Text(cr, (l.left + l.right) / 2, l.bottom + 38, "time (UTC)", 0.5);
  cairo_set_font_size(cr, 14);
  Text(cr, l.left, 24, request.title, 0.0);
  cairo_set_font_size(cr, 12);

  // Limits, then the curves (clipped to the plotting area).
  cairo_save(cr);
  cairo_rectangle(cr, l.left, l.top, l.right - l.left, l.bottom - l.top);
  cairo_clip(cr);
  const double dash[] = {8, 5};
  cairo_set_line_width(cr, 2);
  for (const auto& [limit, colour] : {std::pair{request.high, kHighColour}, std::pair{request.low, kLowColour}}) {
    if (!limit || !std::isfinite(*limit)) continue;
    SetColour(cr, colour);
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, l.left, l.Y(*limit));
    cairo_line_to(cr, l.right, l.Y(*limit));
    cairo_stroke(cr);
    Text(cr, l.left + 6, l.Y(*limit) - 4,
         fmt::format("{} {:.6g}", colour.r > colour.b ? "high" : "low", *limit), 0.0);
  }
  cairo_set_dash(cr, nullptr, 0, 0);
  cairo_set_line_width(cr, 1.5);
  for (size_t i = 0; i < request.series.size(); ++i) {
    const auto& s = request.series[i];
    SetColour(cr, SeriesColour(i));
    bool drawing = false;
    double last_y = 0;
    for (const auto& [ts, v] : s.points) {
      if (!v || !std::isfinite(*v)) {
        drawing = false;
        continue;
      }
      const double x = l.X(ts), y = l.Y(*v);
      if (!drawing) {
        cairo_move_to(cr, x, y);
        cairo_rel_line_to(cr, 0.01, 0);  // a lone value still shows as a dot
      } else {
        if (s.stepped) cairo_line_to(cr, x, last_y);
        cairo_line_to(cr, x, y);
      }
      drawing = true;
      last_y = y;
    }
    cairo_stroke(cr);
  }
  cairo_restore(cr);

  // Legend, top right.
  double x = l.right;
  for (size_t i = request.series.size(); i-- > 0;) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, request.series[i].label.c_str(), &e);
    x -= e.width + 30;
    SetColour(cr, SeriesColour(i));
    cairo_rectangle(cr, x, 15, 14, 4);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    Text(cr, x + 18, 22, request.series[i].label, 0.0);
  }

  cairo_surface_flush(surface.get());
  const cairo_status_t st = cairo_surface_write_to_png(surface.get(), path.c_str());
  if (st != CAIRO_STATUS_SUCCESS) {
    return Status::IOError(fmt::format("cannot write the plot to {}: {}", path, cairo_status_to_string(st)));
  }
  return Status::OK();
}

}  // namespace sluice::cli
