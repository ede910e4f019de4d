// JSON and CSV text written straight from warehouse values.
#include "serve/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace citybooks {
namespace {

std::string Json(const Value& value) {
  std::string out;
  AppendJsonValue(&out, value);
  return out;
}

TEST(JsonWriter, NumbersReadBackExactly) {
  EXPECT_EQ(Json(Value(int64_t{-42})), "-42");
  EXPECT_EQ(Json(Value(123.45)), "123.45");
  EXPECT_EQ(Json(Value(100.0)), "100.0");
  EXPECT_EQ(Json(Value(1906538793674 / 100.0)), "19065387936.74");
  EXPECT_EQ(Json(Value(std::nan(""))), "null");
  EXPECT_EQ(Json(Value()), "null");
}

TEST(JsonWriter, StringsAreEscapedAndAlwaysValidUtf8) {
  EXPECT_EQ(Json(Value(std::string("a\"b\\c\n\x01"))), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(Json(Value(std::string("caf\xc3\xa9"))), "\"caf\xc3\xa9\"");
  EXPECT_EQ(Json(Value(std::string("bad\xff"))), "\"bad\\ufffd\"");
}

TEST(JsonWriter, RowsAsObjectsOrArraysParse) {
  Table table{{"name", "n"},
              {{Value(std::string("x,\"y\"")), Value(int64_t{1})}, {Value(), Value(2.5)}}};
  std::string objects, arrays;
  AppendRowsJson(&objects, table, true);
  AppendRowsJson(&arrays, table, false);
  auto parsed = nlohmann::json::parse(objects);
  EXPECT_EQ(parsed[0]["name"], "x,\"y\"");
  EXPECT_EQ(parsed[1]["n"], 2.5);
  EXPECT_TRUE(parsed[1]["name"].is_null());
  EXPECT_EQ(nlohmann::json::parse(arrays)[0][1], 1);
  EXPECT_EQ(TableToCsv(table), "name,n\r\n\"x,\"\"y\"\"\",1\r\n,2.5\r\n");
}

}  // namespace
}  // namespace citybooks
