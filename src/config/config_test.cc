#include "config/config.h"

#include <gtest/gtest.h>

namespace citybooks {
namespace {

Environment FakeEnvironment(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Config, DefaultsNeedNoFile) {
  auto config = LoadConfig({}, FakeEnvironment({}));
  ASSERT_TRUE(config) << config.error().message();
  EXPECT_EQ(config->raw_url, "file://./citybooks-data/raw");
  EXPECT_EQ(config->warehouse_url, "sqlite://./citybooks-data/warehouse.db");
  ASSERT_EQ(config->datasets.size(), 2u);
  EXPECT_EQ(config->datasets.at("sf-spending-revenue").dataset_id, "bpnb-jwfb");
  EXPECT_EQ(config->datasets.at("phoenix-checkbook").package, "city-checkbook");
}

TEST(Config, FlagBeatsEnvironmentBeatsFile) {
  auto parsed = ParseConfig("[warehouse]\nurl = \"sqlite:///file.db\"\n", "c.toml");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->warehouse_url, "sqlite:///file.db");
  auto from_env = LoadConfig({}, FakeEnvironment({{"CITYBOOKS_WAREHOUSE", "sqlite:///env.db"}}));
  ASSERT_TRUE(from_env);
  EXPECT_EQ(from_env->warehouse_url, "sqlite:///env.db");
  ConfigOverrides overrides;
  overrides.warehouse_url = "sqlite:///flag.db";
  auto from_flag =
      LoadConfig(overrides, FakeEnvironment({{"CITYBOOKS_WAREHOUSE", "sqlite:///env.db"}}));
  ASSERT_TRUE(from_flag);
  EXPECT_EQ(from_flag->warehouse_url, "sqlite:///flag.db");
}

TEST(Config, UnknownKeyNamesKeyAndLine) {
  auto parsed = ParseConfig("[raw]\nurl = \"file:///x\"\nbucket = \"b\"\n", "c.toml");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message().find("raw.bucket"), std::string::npos)
      << parsed.error().message();
  EXPECT_NE(parsed.error().message().find("line 3"), std::string::npos) << parsed.error().message();
}

TEST(Config, WrongTypeNamesKeyAndLine) {
  auto parsed = ParseConfig("\n[warehouse]\nurl = 5\n", "c.toml");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message().find("warehouse.url (line 3) must be a string"),
            std::string::npos)
      << parsed.error().message();
}

TEST(Config, SyntaxErrorNamesLine) {
  auto parsed = ParseConfig("[raw\nurl = 1\n", "c.toml");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message().find("c.toml line 1"), std::string::npos)
      << parsed.error().message();
}

TEST(Config, DatasetSectionOverridesBuiltInKeys) {
  auto parsed =
      ParseConfig("[datasets.sf-spending-revenue]\nbase_url = \"http://127.0.0.1:9\"\n", "c.toml");
  ASSERT_TRUE(parsed) << parsed.error().message();
  const auto& sf = parsed->datasets.at("sf-spending-revenue");
  EXPECT_EQ(sf.base_url, "http://127.0.0.1:9");
  EXPECT_EQ(sf.dataset_id, "bpnb-jwfb");
  EXPECT_EQ(sf.source, "socrata");
}

TEST(Config, NewDatasetNeedsSourceAndMapping) {
  auto parsed = ParseConfig("[datasets.my-drop]\nsource = \"sftp\"\n", "c.toml");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message().find("datasets.my-drop.mapping"), std::string::npos)
      << parsed.error().message();
}

TEST(Config, ChecksAreValidated) {
  auto parsed = ParseConfig(
      "[[datasets.sf-spending-revenue.checks]]\ntype = \"not_null\"\ntable = \"dim_fund\"\n"
      "column = \"fund\"\nseverity = \"warn\"\n",
      "c.toml");
  ASSERT_TRUE(parsed) << parsed.error().message();
  const auto& checks = parsed->datasets.at("sf-spending-revenue").checks;
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].severity, "warn");
  EXPECT_EQ(checks[0].name, "not_null:dim_fund:fund");

  auto bad = ParseConfig(
      "[[datasets.sf-spending-revenue.checks]]\ntype = \"is_nice\"\ntable = \"t\"\n", "c.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("is_nice"), std::string::npos);
}

TEST(Config, MissingConfigFileIsAUsageError) {
  ConfigOverrides overrides;
  overrides.config_path = "/nonexistent/citybooks.toml";
  auto config = LoadConfig(overrides, FakeEnvironment({}));
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().exit_status(), 2);
}

TEST(Config, ModelParametersHaveSpecDefaults) {
  auto config = LoadConfig({}, FakeEnvironment({}));
  ASSERT_TRUE(config) << config.error().message();
  for (const auto& [name, dataset] : config->datasets) {
    SCOPED_TRACE(name);
    EXPECT_EQ(dataset.models.benford_min_amounts, 1000);
    EXPECT_EQ(dataset.models.duplicate_window_days, 30);
    EXPECT_EQ(dataset.models.outlier_threshold, 3.5);
    EXPECT_EQ(dataset.models.duplicate_min_score, 0.8);
    EXPECT_EQ(dataset.models.outlier_min_group_size, 30);
    EXPECT_EQ(dataset.models.outlier_max_rows, 1000);
    EXPECT_EQ(dataset.models.forecast_backtest_years, 2);
  }
}

TEST(Config, ModelParametersApplyToEveryDatasetAndADatasetMayOverrideThem) {
  auto parsed = ParseConfig(
      "[datasets.phoenix-checkbook.models]\nduplicate_window_days = 14\n"
      "[models]\noutlier_threshold = 5\nduplicate_window_days = 45\n"
      "[datasets.my-city]\nsource = \"file\"\nmapping = \"my-city.toml\"\n",
      "c.toml");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->models.outlier_threshold, 5.0);  // an integer is a number too
  const ModelParams& phoenix = parsed->datasets.at("phoenix-checkbook").models;
  EXPECT_EQ(phoenix.duplicate_window_days, 14);
  EXPECT_EQ(phoenix.outlier_threshold, 5.0);
  const ModelParams& sf = parsed->datasets.at("sf-spending-revenue").models;
  EXPECT_EQ(sf.duplicate_window_days, 45);
  EXPECT_EQ(sf.benford_min_amounts, 1000);
  EXPECT_EQ(parsed->datasets.at("my-city").models.duplicate_window_days, 45);
}

TEST(Config, ModelParametersAreStrict) {
  auto unknown = ParseConfig("[models]\noutlier_treshold = 3\n", "c.toml");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message().find("models.outlier_treshold"), std::string::npos)
      << unknown.error().message();
  EXPECT_NE(unknown.error().message().find("line 2"), std::string::npos)
      << unknown.error().message();

  auto wrong_type = ParseConfig("\n[models]\nduplicate_window_days = \"30\"\n", "c.toml");
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(wrong_type.error().message().find("models.duplicate_window_days (line 3) must be an "
                                              "integer"),
            std::string::npos)
      << wrong_type.error().message();

  auto out_of_range =
      ParseConfig("[datasets.sf-spending-revenue.models]\nduplicate_min_score = 1.5\n", "c.toml");
  ASSERT_FALSE(out_of_range);
  EXPECT_NE(out_of_range.error().message().find(
                "datasets.sf-spending-revenue.models.duplicate_min_score (line 2)"),
            std::string::npos)
      << out_of_range.error().message();

  auto negative = ParseConfig("[models]\nbenford_min_amounts = 0\n", "c.toml");
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message().find("benford_min_amounts"), std::string::npos);
}

TEST(Config, SchemaNameReplacesDashes) {
  EXPECT_EQ(SchemaName("sf-spending-revenue"), "sf_spending_revenue");
}

}  // namespace
}  // namespace citybooks
