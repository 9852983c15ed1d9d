// The catalog's checks (each refusal names the entry and the field), Apply, the snapshot
// round trip and the SQL of each change.
#include "sampling/catalog.h"

#include <cmath>
#include <regex>

#include <gtest/gtest.h>

#include "sampling/catalog_sql.h"

namespace sluice::sampling {
namespace {

v1::CatalogPoint MakePoint(int64_t id, std::string name) {
  v1::CatalogPoint p;
  p.set_id(id);
  p.set_name(std::move(name));
  p.set_unit("kV");
  return p;
}

v1::CatalogChange PutPoints(std::initializer_list<v1::CatalogPoint> points) {
  v1::CatalogChange c;
  for (const auto& p : points) *c.add_put_points() = p;
  return c;
}

v1::CatalogChange Define(int64_t point, v1::SampleInterval interval, bool passive = false) {
  v1::CatalogChange c;
  auto* d = c.add_put_definitions();
  d->set_point_id(point);
  d->set_interval(interval);
  d->set_mode(passive ? v1::DEFINITION_MODE_PASSIVE : v1::DEFINITION_MODE_ACTIVE);
  d->set_enabled(true);
  return c;
}

// The refusal's message holds every one of `parts`.
void ExpectRefused(const Status& s, std::initializer_list<std::string_view> parts) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.ToString();
  for (auto part : parts)
    EXPECT_NE(s.message().find(part), std::string::npos) << s.message() << " lacks " << part;
}

TEST(CatalogTest, PointChecksNameEntryAndField) {
  Catalog catalog;
  ExpectRefused(catalog.Check(PutPoints({MakePoint(0, "A")})), {"points[0] (id 0)", "id"});
  ExpectRefused(catalog.Check(PutPoints({MakePoint(1, "A"), MakePoint(2, "")})),
                {"points[1] (id 2)", "name", "empty"});
  ExpectRefused(catalog.Check(PutPoints({MakePoint(1, std::string(129, 'x'))})),
                {"name", "129 bytes", "128"});
  ExpectRefused(catalog.Check(PutPoints({MakePoint(1, "A\tB")})), {"name", "control character"});
  ExpectRefused(catalog.Check(PutPoints({MakePoint(1, "A"), MakePoint(2, "A")})),
                {"points[1]", "name", "points[0]"});
  ExpectRefused(catalog.Check(PutPoints({MakePoint(1, "A"), MakePoint(1, "B")})),
                {"points[1]", "id", "points[0]"});
  auto p = MakePoint(3, "C");
  p.set_lo(10);
  p.set_hi(5);
  ExpectRefused(catalog.Check(PutPoints({p})), {"points[0] (id 3)", "hi", "below lo"});
  p.clear_hi();
  p.set_hihi(9);
  ExpectRefused(catalog.Check(PutPoints({p})), {"hihi", "below lo"});
  p.set_hihi(11);
  p.set_lolo(std::nan(""));
  ExpectRefused(catalog.Check(PutPoints({p})), {"lolo", "finite"});
  p.clear_lolo();
  p.set_deadband(-1);
  ExpectRefused(catalog.Check(PutPoints({p})), {"deadband"});
  p.set_deadband(INFINITY);
  ExpectRefused(catalog.Check(PutPoints({p})), {"deadband"});
  p.set_deadband(0.5);
  p.set_kind(3);
  ExpectRefused(catalog.Check(PutPoints({p})), {"kind", "3"});
  p.set_kind(2);
  EXPECT_TRUE(catalog.Check(PutPoints({p})).ok());

  ExpectRefused(catalog.Check(v1::CatalogChange()), {"empty"});
  auto mixed = PutPoints({MakePoint(1, "A")});
  mixed.add_delete_points(2);
  ExpectRefused(catalog.Check(mixed), {"one kind of change"});
  v1::CatalogChange big;
  for (int i = 1; i <= kMaxChangeEntries + 1; ++i)
    *big.add_put_points() = MakePoint(i, "P" + std::to_string(i));
  ExpectRefused(catalog.Check(big), {"at most"});
}

TEST(CatalogTest, ChecksAgainstTheCatalog) {
  Catalog catalog;
  catalog.Apply(PutPoints({MakePoint(1, "BUS1.KV"), MakePoint(2, "BUS2.KV")}));
  ASSERT_EQ(catalog.point_count(), 2u);
  // A name another point holds; the same point renamed is fine, as is swapping names in
  // one change.
  ExpectRefused(catalog.Check(PutPoints({MakePoint(3, "BUS1.KV")})),
                {"points[0] (id 3)", "name", "point 1"});
  EXPECT_TRUE(catalog.Check(PutPoints({MakePoint(1, "BUS1.KV.NEW")})).ok());
  EXPECT_TRUE(catalog.Check(PutPoints({MakePoint(1, "BUS2.KV"), MakePoint(2, "BUS1.KV")})).ok());

  ExpectRefused(catalog.Check(Define(9, v1::SAMPLE_INTERVAL_1S)),
                {"point 9", "point_id", "not in the catalog"});
  ExpectRefused(catalog.Check(Define(1, static_cast<v1::SampleInterval>(42))),
                {"interval", "42", "ten intervals"});
  ExpectRefused(catalog.Check(Define(1, v1::SAMPLE_INTERVAL_UNSPECIFIED)), {"interval"});
  ASSERT_TRUE(catalog.Check(Define(1, v1::SAMPLE_INTERVAL_1S)).ok());
  catalog.Apply(Define(1, v1::SAMPLE_INTERVAL_1S));
  catalog.Apply(Define(2, v1::SAMPLE_INTERVAL_5MIN, /*passive=*/true));
  EXPECT_EQ(catalog.definition_count(), 2u);
  // Only active, enabled definitions are sampled.
  auto active = catalog.ActiveDefinitions();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].point_id, 1);
  EXPECT_EQ(active[0].interval, v1::SAMPLE_INTERVAL_1S);

  v1::CatalogChange del;
  del.add_delete_points(1);
  ExpectRefused(catalog.Check(del), {"delete_points[0]", "point 1", "definitions", "1s"});
  del.set_delete_points(0, 7);
  ExpectRefused(catalog.Check(del), {"point 7", "not in the catalog"});

  v1::CatalogChange undefine;
  auto* d = undefine.add_delete_definitions();
  d->set_point_id(1);
  d->set_interval(v1::SAMPLE_INTERVAL_5S);
  ExpectRefused(catalog.Check(undefine),
                {"remove_definitions[0] (point 1, interval 5s)", "no such definition"});
  d->set_interval(v1::SAMPLE_INTERVAL_1S);
  ASSERT_TRUE(catalog.Check(undefine).ok());
  catalog.Apply(undefine);
  EXPECT_TRUE(catalog.ActiveDefinitions().empty());
  del.set_delete_points(0, 1);
  ASSERT_TRUE(catalog.Check(del).ok());
  catalog.Apply(del);
  EXPECT_FALSE(catalog.FindPoint(1).has_value());
  EXPECT_FALSE(catalog.KnownPoints()->contains(1));
  EXPECT_TRUE(catalog.KnownPoints()->contains(2));
}

TEST(CatalogTest, TriggerTypesAndRecalls) {
  Catalog catalog;
  catalog.Apply(PutPoints({MakePoint(1, "A")}));
  v1::CatalogChange t;
  auto* tt = t.add_put_trigger_types();
  tt->set_id(1);
  tt->set_name("trip");
  tt->add_int_columns("breaker");
  tt->add_int_columns("breaker");
  ExpectRefused(catalog.Check(t), {"trigger_types[0] (id 1)", "int_columns[1]", "twice"});
  tt->set_int_columns(1, "a,b");
  ExpectRefused(catalog.Check(t), {"int_columns[1]", "','"});
  tt->set_int_columns(1, "phase");
  EXPECT_TRUE(catalog.Check(t).ok());

  v1::CatalogChange r;
  auto* rr = r.add_put_recalls();
  rr->set_id(1);
  rr->set_period_us(20'000);
  ExpectRefused(catalog.Check(r), {"recalls[0] (id 1)", "point_ids", "at least one"});
  rr->add_point_ids(5);
  ExpectRefused(catalog.Check(r), {"point_ids[0]", "point 5", "not in the catalog"});
  rr->set_point_ids(0, 1);
  rr->set_before_us(-1);
  ExpectRefused(catalog.Check(r), {"before_us"});
  rr->set_before_us(1'000'000);
  ASSERT_TRUE(catalog.Check(r).ok());
  catalog.Apply(r);
  v1::CatalogChange del;
  del.add_delete_points(1);
  ExpectRefused(catalog.Check(del), {"recall definition 1"});
}

// Sampling.Trigger finds its type by id or by name; a renamed type is found only by its
// new name, a deleted one not at all.
TEST(CatalogTest, FindsTriggerTypesByIdAndName) {
  Catalog catalog;
  v1::CatalogChange put;
  for (int32_t id : {3, 8}) {
    auto* t = put.add_put_trigger_types();
    t->set_id(id);
    t->set_name("type " + std::to_string(id));
    t->add_int_columns("breaker");
  }
  ASSERT_TRUE(catalog.Check(put).ok());
  catalog.Apply(put);
  for (int32_t id : {3, 8}) {
    const std::string name = "type " + std::to_string(id);
    auto by_id = catalog.FindTriggerType(id);
    ASSERT_TRUE(by_id.has_value());
    EXPECT_EQ(by_id->name, name);
    auto by_name = catalog.FindTriggerType(std::string_view(name));
    ASSERT_TRUE(by_name.has_value());
    EXPECT_EQ(by_name->id, id);
  }
  EXPECT_FALSE(catalog.FindTriggerType(4).has_value());
  EXPECT_FALSE(catalog.FindTriggerType(std::string_view("type 4")).has_value());

  v1::CatalogChange rename;
  *rename.add_put_trigger_types() = put.put_trigger_types(0);
  rename.mutable_put_trigger_types(0)->set_name("breaker trip");
  ASSERT_TRUE(catalog.Check(rename).ok());
  catalog.Apply(rename);
  EXPECT_FALSE(catalog.FindTriggerType(std::string_view("type 3")).has_value());
  EXPECT_EQ(catalog.FindTriggerType(std::string_view("breaker trip"))->id, 3);

  v1::CatalogChange del;
  del.add_delete_trigger_types(8);
  ASSERT_TRUE(catalog.Check(del).ok());
  catalog.Apply(del);
  EXPECT_FALSE(catalog.FindTriggerType(8).has_value());
  EXPECT_FALSE(catalog.FindTriggerType(std::string_view("type 8")).has_value());
  EXPECT_TRUE(catalog.FindTriggerType(3).has_value());
}

TEST(CatalogTest, SnapshotRoundTripAndDamage) {
  Catalog catalog;
  auto p = MakePoint(5, "P5");
  p.set_lo(-1);
  p.set_hi(1);
  catalog.Apply(PutPoints({p, MakePoint(6, "P6")}));
  catalog.Apply(Define(5, v1::SAMPLE_INTERVAL_1MIN));
  v1::CatalogSnapshot snap;
  catalog.Fill(&snap);
  Catalog copy;
  ASSERT_TRUE(copy.Load(snap).ok());
  ASSERT_EQ(copy.Points().size(), 2u);
  EXPECT_EQ(copy.Points()[0].limits.lo, -1);
  EXPECT_FALSE(copy.Points()[0].limits.hihi.has_value());
  EXPECT_EQ(copy.Definitions().size(), 1u);

  snap.mutable_points(1)->set_name("");
  Status s = copy.Load(snap);
  ASSERT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("points[1]"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("name"), std::string::npos) << s.message();
  // A failed load changes nothing.
  EXPECT_EQ(copy.point_count(), 2u);
}

// Every change is one statement; its parameters are numbered $1..$n, n being the number
// of values bound, and rows are upserts on the table's key.
TEST(CatalogTest, SqlOfEachChange) {
  auto count_params = [](const std::string& text) {
    std::regex param(R"(\$(\d+))");
    int max = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), param);
         it != std::sregex_iterator(); ++it) {
      max = std::max(max, std::stoi((*it)[1]));
    }
    return max;
  };
  auto p = MakePoint(5, "P5");
  p.set_hi(3);
  auto sql = CatalogSql(PutPoints({p, MakePoint(6, "P6")}), 123);
  ASSERT_TRUE(sql.ok());
  EXPECT_NE(sql->text().find("INSERT INTO point"), std::string::npos);
  EXPECT_NE(sql->text().find("ON CONFLICT (point_id) DO UPDATE SET"), std::string::npos);
  EXPECT_EQ(count_params(sql->text()), sql->params_size());
  EXPECT_EQ(sql->params_size(), 2 * 13);
  EXPECT_TRUE(sql->params(5).has_null_value());  // lolo unset
  EXPECT_EQ(sql->params(7).double_value(), 3);   // hi
  EXPECT_EQ(sql->params(12).int_value(), 123);   // updated_at

  auto def = CatalogSql(Define(5, v1::SAMPLE_INTERVAL_1H), 1);
  ASSERT_TRUE(def.ok());
  EXPECT_NE(def->text().find("ON CONFLICT (point_id, sample_interval)"), std::string::npos);
  EXPECT_EQ(count_params(def->text()), def->params_size());

  v1::CatalogChange undefine;
  for (int i = 1; i <= 3; ++i) {
    auto* d = undefine.add_delete_definitions();
    d->set_point_id(i);
    d->set_interval(v1::SAMPLE_INTERVAL_1S);
  }
  auto un = CatalogSql(undefine, 1);
  ASSERT_TRUE(un.ok());
  EXPECT_EQ(count_params(un->text()), 6);
  EXPECT_EQ(un->params_size(), 6);

  EXPECT_FALSE(CatalogSql(v1::CatalogChange(), 1).ok());
}

}  // namespace
}  // namespace sluice::sampling
