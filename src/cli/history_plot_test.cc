// `--plot`: the PNG is written, has the asked size, and shows the curve and the limits
// where the layout says (pixels read back with cairo).

#include "cli/history_plot.h"

#include <array>
#include <cmath>
#include <cstring>
#include <memory>

#include <cairo.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace sluice::cli {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000;

struct Png {
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> surface{nullptr, cairo_surface_destroy};
  int width() const { return cairo_image_surface_get_width(surface.get()); }
  int height() const { return cairo_image_surface_get_height(surface.get()); }
  // RGB of a pixel (0..255 each).
  std::array<int, 3> At(int x, int y) const {
    const unsigned char* data = cairo_image_surface_get_data(surface.get());
    const int stride = cairo_image_surface_get_stride(surface.get());
    uint32_t px;
    std::memcpy(&px, data + y * stride + x * 4, 4);
    return {static_cast<int>((px >> 16) & 0xff), static_cast<int>((px >> 8) & 0xff),
            static_cast<int>(px & 0xff)};
  }
  // Any pixel in row y (or the rows next to it) close to `c`.
  bool RowHas(int y, Rgb c) const {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int x = 0; x < width(); ++x) {
        auto p = At(x, y + dy);
        if (std::abs(p[0] - c.r * 255) < 40 && std::abs(p[1] - c.g * 255) < 40 &&
            std::abs(p[2] - c.b * 255) < 40)
          return true;
      }
    }
    return false;
  }
};

Png Read(const std::string& path) {
  Png png;
  png.surface.reset(cairo_image_surface_create_from_png(path.c_str()));
  return png;
}

PlotRequest Curve() {
  PlotRequest r;
  r.title = "bus voltage";
  r.from_us = kT0;
  r.to_us = kT0 + 3'600'000'000;
  r.high = 12;
  r.low = -3;
  r.width = 800;
  r.height = 400;
  PlotSeries s;
  s.label = "p1";
  // A flat stretch at 5 in the first half, then nothing (a gap), then 8.
  for (int i = 0; i < 30; ++i) s.points.push_back({kT0 + i * 60'000'000LL, 5.0});
  s.points.push_back({kT0 + 30 * 60'000'000LL, std::nullopt});
  for (int i = 40; i <= 60; ++i) s.points.push_back({kT0 + i * 60'000'000LL, 8.0});
  r.series.push_back(std::move(s));
  return r;
}

TEST(HistoryPlotTest, DrawsTheCurveAndTheLimitsWhereTheLayoutPutsThem) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/plot.png";
  const PlotRequest request = Curve();
  ASSERT_TRUE(WritePlotPng(request, path).ok());
  Png png = Read(path);
  ASSERT_EQ(cairo_surface_status(png.surface.get()), CAIRO_STATUS_SUCCESS);
  EXPECT_EQ(png.width(), 800);
  EXPECT_EQ(png.height(), 400);
  auto layout = LayOut(request);
  ASSERT_TRUE(layout.ok());
  // The value range holds the values and both limits.
  EXPECT_LT(layout->y_min, -3);
  EXPECT_GT(layout->y_max, 12);
  EXPECT_TRUE(png.RowHas(static_cast<int>(std::lround(layout->Y(12))), kHighColour));
  EXPECT_TRUE(png.RowHas(static_cast<int>(std::lround(layout->Y(-3))), kLowColour));
  const Rgb curve = SeriesColour(0);
  EXPECT_TRUE(png.RowHas(static_cast<int>(std::lround(layout->Y(5))), curve));
  EXPECT_TRUE(png.RowHas(static_cast<int>(std::lround(layout->Y(8))), curve));
  // The gap: between minute 30 and 40 nothing of the curve is drawn on the 5 or 8 rows.
  const int x_gap = static_cast<int>(std::lround(layout->X(kT0 + 35 * 60'000'000LL)));
  for (double v : {5.0, 8.0}) {
    auto p = png.At(x_gap, static_cast<int>(std::lround(layout->Y(v))));
    EXPECT_FALSE(std::abs(p[0] - curve.r * 255) < 40 && std::abs(p[1] - curve.g * 255) < 40 &&
                 std::abs(p[2] - curve.b * 255) < 40)
        << "curve drawn across the gap at value " << v;
  }
}

TEST(HistoryPlotTest, NothingToDrawAndBadSizesAreRefused) {
  PlotRequest r = Curve();
  r.series[0].points = {{kT0, std::nullopt}};
  auto l = LayOut(r);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().message(), "plot: no value to draw in the range");
  r = Curve();
  r.width = 50;
  EXPECT_NE(LayOut(r).status().message().find("plot size 50x400"), std::string::npos);
  r = Curve();
  r.to_us = r.from_us;
  EXPECT_FALSE(LayOut(r).ok());
}

TEST(HistoryPlotTest, AnUnwritablePathIsNamed) {
  Status s = WritePlotPng(Curve(), "/nonexistent-dir/plot.png");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-dir/plot.png"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace sluice::cli
