#include "gen/phoenix_generator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/byte_source.h"
#include "common/csv_reader.h"
#include "common/text.h"
#include "gen/embedded_data.h"
#include "gen/random.h"

namespace citybooks {
namespace {

using gen_internal::MixHash;
using gen_internal::Pow10;
using gen_internal::Random;

// ---------------------------------------------------------------------------
// The real file's columns and header (data/reference/phoenix/sample_rows.csv).

enum Column : int { kDate, kDepartment, kVendor, kItem, kAmount, kColumnCount };

constexpr std::string_view kHeader =
    "Check/Payment Date,Dept. Descrptn,Vendor Name,Commitmt Item Name,Invoice Net Amt";

constexpr std::string_view kSampleFile = "reference/phoenix/sample_rows.csv";

// The vendor population does not depend on the seed: every seed pays the same
// city's vendors (as the real checkbook does month after month); the seed
// decides the payments and the dirt.
constexpr uint64_t kCatalogSeed = 0x50484f454e495831ULL;  // "PHOENIX1"

double HashFraction(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// The square root of x in [0, 1] by Newton's method: IEEE arithmetic only, so
// the result (and the bytes generated from it) does not depend on libm.
double SquareRoot(double x) {
  if (x <= 0) return 0;
  double y = 1.0;
  for (int i = 0; i < 100; ++i) y = 0.5 * (y + x / y);
  return y;
}

// ---------------------------------------------------------------------------
// Departments, commitment items and kinds of vendor.

// The departments of the real file (Police, Fire, Aviation, Water Services,
// Library) and the city's other departments, weighted by their share of
// payments: the enterprise funds and public safety pay the most.
struct DepartmentSpec {
  std::string_view name;
  double weight;
};
// clang-format off
constexpr std::array<DepartmentSpec, 31> kDepartments = {{
    {"Police", 14},                 {"Water Services", 12},       {"Aviation", 11},
    {"Fire", 10},                   {"Public Works", 9},          {"Street Transportation", 6},
    {"Parks and Recreation", 6},    {"Public Transit", 5},        {"Human Services", 4},
    {"Information Technology Services", 4}, {"Housing", 3},      {"Library", 2.5},
    {"Planning and Development", 2.5}, {"Neighborhood Services", 2}, {"Finance", 2},
    {"Convention Center", 2},       {"Economic Development", 1.2}, {"Human Resources", 1.2},
    {"Law", 1.2},                   {"Municipal Court", 1.2},     {"Environmental Programs", 0.8},
    {"Emergency Management", 0.6},  {"Arts and Culture", 0.6},    {"City Clerk", 0.6},
    {"City Manager", 0.4},          {"Budget and Research", 0.4}, {"Retirement Systems", 0.4},
    {"Communications Office", 0.3}, {"City Auditor", 0.3},        {"City Council", 0.3},
    {"Mayor's Office", 0.2},
}};
// clang-format on

// Commitment items: the real file's abbreviated expense categories, with the
// usual size of one payment (log10 of dollars: mean and spread).
struct ItemSpec {
  std::string_view name;
  double log10_mean;
  double log10_spread;
};
// clang-format off
constexpr std::array<ItemSpec, 56> kItems = {{
    {"Cons/Other Prof Svcs", 3.7, 0.8},  {"Tech Supp Maint/Rep", 3.6, 0.7},
    {"Plumbing Services", 2.9, 0.6},     {"Office Supplies", 2.0, 0.6},
    {"Operating Supplies", 2.4, 0.7},    {"Janitorial Supplies", 2.3, 0.6},
    {"Safety Supplies", 2.5, 0.6},       {"Uniforms/Clothing", 2.6, 0.6},
    {"Fuel & Lubricants", 3.6, 0.7},     {"Vehicle Maint/Rep", 2.9, 0.7},
    {"Vehicle Parts/Supp", 2.5, 0.7},    {"Towing Svcs", 2.3, 0.4},
    {"Electricity", 3.5, 1.0},           {"Natural Gas", 3.0, 0.8},
    {"Water/Sewer Svc", 2.8, 0.8},       {"Telecommunications", 3.0, 0.8},
    {"Janitorial Svcs", 3.4, 0.6},       {"Landscape Maint", 3.3, 0.6},
    {"Pest Control Svcs", 2.4, 0.4},     {"Security Svcs", 3.6, 0.6},
    {"Refuse Disposal", 3.2, 0.7},       {"Bldg Maint/Rep", 3.1, 0.7},
    {"Electrical Svcs", 3.0, 0.7},       {"HVAC Maint/Rep", 3.1, 0.7},
    {"Cmptr Software", 3.8, 0.8},        {"Cmptr Hardware", 3.4, 0.8},
    {"Software Maint/Lic", 4.0, 0.8},    {"Construction Contracts", 5.0, 0.8},
    {"Street Maint Matls", 3.6, 0.6},    {"Heavy Equip Rental", 3.3, 0.6},
    {"Architect/Eng Svcs", 4.4, 0.7},    {"Lab Testing Svcs", 3.0, 0.6},
    {"Mgmt Consulting", 4.0, 0.7},       {"Audit Services", 4.2, 0.5},
    {"Legal Services", 3.8, 0.7},        {"Court Reporting Svcs", 2.6, 0.4},
    {"Public Safety Equip", 3.5, 0.8},   {"Medical Supplies", 2.8, 0.7},
    {"Ammunition", 3.4, 0.5},            {"Chemicals", 3.9, 0.7},
    {"Machinery & Equipment", 4.0, 0.8}, {"Equip Maint/Rep", 3.0, 0.7},
    {"Books/Periodicals", 2.3, 0.6},     {"Printing/Binding", 2.7, 0.6},
    {"Advertising", 3.0, 0.6},           {"Postage", 2.5, 0.6},
    {"Social Svcs Contracts", 4.2, 0.7}, {"Rental Assistance", 3.0, 0.4},
    {"Grants/Subsidies", 4.0, 0.8},      {"Temp Staffing Svcs", 3.3, 0.5},
    {"Training/Education", 2.7, 0.6},    {"Travel Expense", 2.6, 0.5},
    {"Memberships/Dues", 2.7, 0.7},      {"Insurance Premiums", 4.5, 0.8},
    {"Bank Svc Charges", 3.0, 0.6},      {"Parking Svcs", 3.5, 0.5},
}};
// clang-format on

// How a kind of vendor is named.
enum class Naming {
  kTrade,      // SONORAN PLUMBING LLC, GARCIA & SONS ROOFING INC, A-1 TIRE CO
  kNonprofit,  // THE DESERT FOOD BANK INC, MARYVALE SENIOR SERVICES
  kLawFirm,    // OCHOA KIM & BRENNAN PLLC, LAW OFFICES OF MARIA LOPEZ
  kFixed,      // the trade words are the names (public bodies)
};

// A word of a vendor's name and what such a vendor mostly bills (empty: any
// of its kind's items).
struct Trade {
  std::string_view word;
  std::string_view item;
};

// A kind of vendor: how many there are, the trade words in their names (or
// their fixed names), what they bill, which departments buy from them (none:
// any), and how strongly they are pulled up the payment ranking.
struct KindSpec {
  int vendors;
  Naming naming;
  std::vector<Trade> trades;
  std::vector<std::string_view> items;
  std::vector<std::string_view> departments;
  double frequency;      // > 1 pulls the kind's vendors up the ranking
  int department_count;  // 0: one to three
};

// clang-format off
const std::vector<KindSpec>& Kinds() {
  static const std::vector<KindSpec> kinds = {
      {2, Naming::kTrade,
       {{"POWER & LIGHT", "Electricity"}, {"ELECTRIC POWER", "Electricity"},
        {"ENERGY", "Electricity"}},
       {"Electricity"}, {}, 400, 3},
      {1, Naming::kTrade, {{"NATURAL GAS", "Natural Gas"}, {"GAS", "Natural Gas"}},
       {"Natural Gas"}, {}, 200, 3},
      {4, Naming::kTrade,
       {{"FUELS", "Fuel & Lubricants"}, {"PETROLEUM", "Fuel & Lubricants"},
        {"OIL", "Fuel & Lubricants"}, {"FUEL SERVICES", "Fuel & Lubricants"}},
       {"Fuel & Lubricants"},
       {"Public Works", "Police", "Fire", "Public Transit", "Aviation", "Street Transportation"},
       100, 3},
      {6, Naming::kTrade,
       {{"TELECOM", "Telecommunications"}, {"WIRELESS", "Telecommunications"},
        {"COMMUNICATIONS", "Telecommunications"}, {"FIBER NETWORKS", "Tech Supp Maint/Rep"},
        {"BROADBAND", "Telecommunications"}},
       {"Telecommunications", "Tech Supp Maint/Rep"}, {}, 10, 0},
      {5, Naming::kFixed,
       {{"CITY OF TEMPE", "Water/Sewer Svc"}, {"CITY OF MESA", "Water/Sewer Svc"},
        {"CITY OF GLENDALE", "Water/Sewer Svc"}, {"CITY OF SCOTTSDALE", "Cons/Other Prof Svcs"},
        {"MARICOPA COUNTY", "Cons/Other Prof Svcs"}},
       {"Water/Sewer Svc", "Cons/Other Prof Svcs", "Grants/Subsidies"}, {}, 1, 0},
      {30, Naming::kTrade,
       {{"MOTORS", "Vehicle Maint/Rep"}, {"FLEET SERVICES", "Vehicle Maint/Rep"},
        {"AUTO PARTS", "Vehicle Parts/Supp"}, {"TRUCK & EQUIPMENT", "Vehicle Parts/Supp"},
        {"TIRE", "Vehicle Parts/Supp"}, {"AUTOMOTIVE", "Vehicle Maint/Rep"},
        {"TRUCK CENTER", "Vehicle Maint/Rep"}, {"DIESEL", "Vehicle Maint/Rep"},
        {"COLLISION", "Vehicle Maint/Rep"}, {"TOWING", "Towing Svcs"}},
       {"Vehicle Maint/Rep", "Vehicle Parts/Supp", "Towing Svcs"},
       {"Public Works", "Police", "Fire", "Public Transit", "Street Transportation",
        "Water Services"},
       4, 0},
      {45, Naming::kTrade,
       {{"TECHNOLOGIES", "Tech Supp Maint/Rep"}, {"SYSTEMS", "Tech Supp Maint/Rep"},
        {"SOFTWARE", "Software Maint/Lic"}, {"DATA SYSTEMS", "Cmptr Software"},
        {"NETWORKS", "Tech Supp Maint/Rep"}, {"COMPUTING", "Cmptr Hardware"},
        {"DIGITAL SOLUTIONS", "Cons/Other Prof Svcs"}, {"INFORMATION SYSTEMS", "Cmptr Software"},
        {"CYBER SECURITY", "Cons/Other Prof Svcs"}, {"TECHNOLOGY GROUP", "Tech Supp Maint/Rep"}},
       {"Tech Supp Maint/Rep", "Cmptr Software", "Software Maint/Lic", "Cmptr Hardware",
        "Cons/Other Prof Svcs"},
       {"Information Technology Services", "Police", "Aviation", "Water Services", "Finance",
        "Fire", "Public Transit"},
       1, 0},
      {50, Naming::kTrade,
       {{"CONSTRUCTION", "Construction Contracts"}, {"CONTRACTORS", "Construction Contracts"},
        {"BUILDERS", "Construction Contracts"}, {"PAVING", "Street Maint Matls"},
        {"EXCAVATING", "Construction Contracts"}, {"CONCRETE", "Street Maint Matls"},
        {"GENERAL CONTRACTORS", "Construction Contracts"},
        {"UNDERGROUND", "Construction Contracts"}, {"ASPHALT", "Street Maint Matls"},
        {"CONSTRUCTORS", "Construction Contracts"}},
       {"Construction Contracts", "Street Maint Matls", "Heavy Equip Rental"},
       {"Street Transportation", "Water Services", "Aviation", "Public Works",
        "Parks and Recreation", "Housing"},
       1, 0},
      {45, Naming::kTrade,
       {{"PLUMBING", "Plumbing Services"}, {"ROOTER", "Plumbing Services"},
        {"BACKFLOW", "Plumbing Services"}, {"MECHANICAL", "HVAC Maint/Rep"},
        {"ELECTRIC", "Electrical Svcs"}, {"AIR CONDITIONING", "HVAC Maint/Rep"},
        {"HEATING & COOLING", "HVAC Maint/Rep"}, {"ROOFING", "Bldg Maint/Rep"},
        {"DOOR & LOCK", "Bldg Maint/Rep"}, {"GLASS", "Bldg Maint/Rep"},
        {"PAINTING", "Bldg Maint/Rep"}, {"FIRE PROTECTION", "Bldg Maint/Rep"}},
       {"Plumbing Services", "Bldg Maint/Rep", "Electrical Svcs", "HVAC Maint/Rep"},
       {"Public Works", "Parks and Recreation", "Aviation", "Water Services", "Convention Center",
        "Library", "Housing", "Fire"},
       1.5, 0},
      {30, Naming::kTrade,
       {{"ENGINEERING", "Architect/Eng Svcs"}, {"ENGINEERS", "Architect/Eng Svcs"},
        {"ARCHITECTS", "Architect/Eng Svcs"}, {"DESIGN GROUP", "Architect/Eng Svcs"},
        {"SURVEYING", "Architect/Eng Svcs"}, {"GEOTECHNICAL", "Lab Testing Svcs"},
        {"PLANNING", "Cons/Other Prof Svcs"}},
       {"Architect/Eng Svcs", "Cons/Other Prof Svcs", "Lab Testing Svcs"},
       {"Street Transportation", "Water Services", "Aviation", "Public Works",
        "Planning and Development"},
       1, 0},
      {40, Naming::kTrade,
       {{"CONSULTING", "Cons/Other Prof Svcs"}, {"ASSOCIATES", "Cons/Other Prof Svcs"},
        {"GROUP", "Cons/Other Prof Svcs"}, {"RESEARCH", "Cons/Other Prof Svcs"},
        {"SOLUTIONS", "Cons/Other Prof Svcs"}, {"PARTNERS", "Mgmt Consulting"},
        {"ADVISORS", "Mgmt Consulting"}, {"STRATEGIES", "Mgmt Consulting"},
        {"MANAGEMENT", "Mgmt Consulting"}, {"CPAS", "Audit Services"}},
       {"Cons/Other Prof Svcs", "Mgmt Consulting", "Audit Services"}, {}, 2, 0},
      {15, Naming::kLawFirm, {{"", "Legal Services"}}, {"Legal Services"},
       {"Law", "City Clerk", "Municipal Court", "Human Resources", "Retirement Systems"}, 0.7, 0},
      {4, Naming::kTrade,
       {{"COURT REPORTERS", "Court Reporting Svcs"},
        {"REPORTING SERVICES", "Court Reporting Svcs"}},
       {"Court Reporting Svcs"}, {"Law", "Municipal Court", "City Clerk"}, 1, 0},
      {35, Naming::kTrade,
       {{"SUPPLY", "Operating Supplies"}, {"DISTRIBUTORS", "Operating Supplies"},
        {"INDUSTRIAL SUPPLY", "Operating Supplies"}, {"OFFICE PRODUCTS", "Office Supplies"},
        {"OFFICE SUPPLY", "Office Supplies"}, {"PAPER", "Office Supplies"},
        {"JANITORIAL SUPPLY", "Janitorial Supplies"}, {"WHOLESALE", "Janitorial Supplies"},
        {"SAFETY SUPPLY", "Safety Supplies"}, {"UNIFORMS", "Uniforms/Clothing"},
        {"MAILING SERVICES", "Postage"}},
       {"Office Supplies", "Operating Supplies", "Janitorial Supplies", "Safety Supplies"}, {},
       8, 0},
      {35, Naming::kTrade,
       {{"JANITORIAL", "Janitorial Svcs"}, {"BUILDING SERVICES", "Janitorial Svcs"},
        {"FACILITY SERVICES", "Bldg Maint/Rep"}, {"ELEVATOR", "Bldg Maint/Rep"},
        {"LANDSCAPING", "Landscape Maint"}, {"TREE SERVICE", "Landscape Maint"},
        {"PEST CONTROL", "Pest Control Svcs"}, {"SECURITY SERVICES", "Security Svcs"},
        {"WASTE SERVICES", "Refuse Disposal"}, {"RECYCLING", "Refuse Disposal"}},
       {"Janitorial Svcs", "Landscape Maint", "Security Svcs", "Bldg Maint/Rep"},
       {"Parks and Recreation", "Aviation", "Public Works", "Convention Center", "Library",
        "Public Transit", "Water Services"},
       2, 0},
      {30, Naming::kTrade,
       {{"PUBLIC SAFETY", "Public Safety Equip"}, {"TACTICAL", "Public Safety Equip"},
        {"FIRE EQUIPMENT", "Public Safety Equip"}, {"EMERGENCY PRODUCTS", "Public Safety Equip"},
        {"BODY ARMOR", "Public Safety Equip"}, {"POLICE SUPPLY", "Public Safety Equip"},
        {"MEDICAL", "Medical Supplies"}, {"RESCUE", "Medical Supplies"},
        {"FORENSICS", "Lab Testing Svcs"}, {"SPORTING ARMS", "Ammunition"}},
       {"Public Safety Equip", "Medical Supplies", "Safety Supplies", "Uniforms/Clothing"},
       {"Police", "Fire", "Emergency Management"}, 2, 0},
      {15, Naming::kTrade,
       {{"CHEMICAL", "Chemicals"}, {"WATER TECHNOLOGIES", "Chemicals"},
        {"ENVIRONMENTAL", "Lab Testing Svcs"}, {"LABORATORIES", "Lab Testing Svcs"},
        {"PUMP & VALVE", "Equip Maint/Rep"}, {"PIPE & SUPPLY", "Operating Supplies"},
        {"METER", "Machinery & Equipment"}},
       {"Chemicals", "Lab Testing Svcs", "Equip Maint/Rep", "Machinery & Equipment"},
       {"Water Services", "Environmental Programs", "Public Works"}, 2, 0},
      {15, Naming::kTrade,
       {{"BOOKS", "Books/Periodicals"}, {"PUBLISHING", "Books/Periodicals"},
        {"PRESS", "Books/Periodicals"}, {"LIBRARY SERVICES", "Books/Periodicals"},
        {"MEDIA", "Advertising"}, {"PRINTING", "Printing/Binding"},
        {"SIGNS", "Printing/Binding"}, {"GRAPHICS", "Printing/Binding"}},
       {"Books/Periodicals", "Printing/Binding", "Advertising"},
       {"Library", "Arts and Culture", "City Clerk", "Convention Center", "Communications Office",
        "Public Transit"},
       1, 0},
      {30, Naming::kNonprofit,
       {{"COMMUNITY SERVICES", "Social Svcs Contracts"},
        {"FAMILY SERVICES", "Social Svcs Contracts"}, {"YOUTH PROGRAMS", "Social Svcs Contracts"},
        {"SENIOR SERVICES", "Social Svcs Contracts"}, {"HEALTH CENTER", "Social Svcs Contracts"},
        {"SHELTER", "Social Svcs Contracts"}, {"FOOD BANK", "Grants/Subsidies"},
        {"ARTS COUNCIL", "Grants/Subsidies"}, {"HOUSING PARTNERS", "Rental Assistance"},
        {"APARTMENTS", "Rental Assistance"}},
       {"Social Svcs Contracts", "Rental Assistance", "Grants/Subsidies"},
       {"Human Services", "Housing", "Neighborhood Services", "Economic Development"}, 1, 0},
      {20, Naming::kTrade,
       {{"STAFFING", "Temp Staffing Svcs"}, {"PERSONNEL SERVICES", "Temp Staffing Svcs"},
        {"TRAINING", "Training/Education"}, {"LEARNING", "Training/Education"},
        {"CONFERENCES", "Training/Education"}, {"TRAVEL", "Travel Expense"},
        {"PROFESSIONALS ASSOCIATION", "Memberships/Dues"}},
       {"Temp Staffing Svcs", "Training/Education", "Travel Expense", "Memberships/Dues"}, {},
       1, 0},
      {12, Naming::kTrade,
       {{"INSURANCE", "Insurance Premiums"}, {"BENEFITS", "Insurance Premiums"},
        {"HEALTH PLANS", "Insurance Premiums"}, {"FINANCIAL SERVICES", "Bank Svc Charges"},
        {"TRUST", "Bank Svc Charges"}, {"CAPITAL", "Bank Svc Charges"},
        {"ACTUARIAL", "Cons/Other Prof Svcs"}},
       {"Insurance Premiums", "Bank Svc Charges", "Cons/Other Prof Svcs"},
       {"Finance", "Human Resources", "Retirement Systems", "Budget and Research"}, 1, 0},
      {25, Naming::kTrade,
       {{"EQUIPMENT", "Machinery & Equipment"}, {"MACHINERY", "Machinery & Equipment"},
        {"TRACTOR", "Machinery & Equipment"}, {"RENTALS", "Heavy Equip Rental"},
        {"EQUIPMENT RENTAL", "Heavy Equip Rental"}, {"HYDRAULICS", "Equip Maint/Rep"},
        {"POWER SYSTEMS", "Equip Maint/Rep"}},
       {"Machinery & Equipment", "Heavy Equip Rental", "Equip Maint/Rep"},
       {"Public Works", "Street Transportation", "Water Services", "Aviation",
        "Parks and Recreation"},
       1, 0},
      {15, Naming::kTrade,
       {{"PARKING", "Parking Svcs"}, {"SHUTTLE", "Parking Svcs"},
        {"BAGGAGE SYSTEMS", "Equip Maint/Rep"}, {"AIRFIELD SERVICES", "Equip Maint/Rep"},
        {"AVIATION SERVICES", "Cons/Other Prof Svcs"}},
       {"Parking Svcs", "Cons/Other Prof Svcs", "Equip Maint/Rep"},
       {"Aviation", "Public Transit", "Convention Center"}, 1.5, 0},
  };
  return kinds;
}
// clang-format on

// Words for synthetic names: places and adjectives, surnames, first names and
// the A-1 style prefixes of trades.
// clang-format off
const std::vector<std::string_view> kPlaces = {
    "ARIZONA", "DESERT", "SONORAN", "CAMELBACK", "VALLEY", "SOUTHWEST", "CACTUS", "PINNACLE",
    "SUMMIT", "COPPER STATE", "SAGUARO", "MARICOPA", "GRAND CANYON", "PHOENIX", "PAPAGO",
    "ESTRELLA", "MCDOWELL", "SOUTH MOUNTAIN", "SALT RIVER", "GILA", "CANYON", "MOUNTAIN VIEW",
    "RED ROCK", "PALO VERDE", "MOJAVE", "HOHOKAM", "ROADRUNNER", "MESQUITE", "PREMIER",
    "ALLIED", "UNITED", "NATIONAL", "AMERICAN", "WESTERN", "PACIFIC", "FRONTIER", "APEX",
    "ATLAS", "BEACON", "CORNERSTONE", "KEYSTONE", "LANDMARK", "MERIDIAN", "NORTHSTAR",
    "PIONEER", "SENTINEL", "VANGUARD", "SUNBELT", "SUNSTATE", "SUNRISE", "METRO", "CAPITOL",
    "CENTURY", "EAGLE", "FALCON", "HORIZON", "LIBERTY", "MONUMENT", "OASIS", "PRECISION",
    "QUALITY", "RELIABLE", "SIERRA", "TRIDENT", "VISTA", "ZENITH", "COYOTE", "JAVELINA",
    "OCOTILLO", "AGAVE", "DIAMONDBACK", "PIESTEWA", "SUPERSTITION", "TONTO", "VERDE",
    "MOGOLLON", "WHITE TANK", "BLUE SKY", "GOLDEN", "SILVER STAR", "IRONWOOD", "CHOLLA",
    "SANTAN", "CENTRAL", "EVERGREEN", "HIGH DESERT", "ARROWHEAD", "ARCADIA", "AHWATUKEE",
    "LAVEEN", "ALHAMBRA", "MARYVALE", "ENCANTO", "DEER VALLEY", "NORTH VALLEY", "EAST VALLEY",
    "WEST VALLEY", "FOUR PEAKS", "TRI STAR", "SUNWEST", "CANYON STATE", "GREAT WESTERN",
};
const std::vector<std::string_view> kSurnames = {
    "JOHNSON", "MARTINEZ", "GARCIA", "NGUYEN", "ANDERSON", "THOMPSON", "RAMIREZ", "HENDERSON",
    "MILLER", "LOPEZ", "WALSH", "OKAFOR", "PATEL", "KIM", "REYES", "SULLIVAN", "BRENNAN",
    "CASTILLO", "DELGADO", "FISCHER", "GALLAGHER", "HARRINGTON", "IBARRA", "JACOBSEN",
    "KOWALSKI", "LINDQUIST", "MORENO", "NAKAMURA", "OCHOA", "PETERSON", "QUINTERO", "ROSALES",
    "SCHMIDT", "TRUJILLO", "VALENZUELA", "WHITAKER", "YAZZIE", "ZAMORA", "BECKER", "CARDENAS",
    "DUNCAN", "ESPINOZA", "FLETCHER", "GUERRERO", "HOLLOWAY", "MONTOYA", "O'BRIEN", "O'CONNOR",
    "MCALLISTER", "STEWART", "BENNETT", "CHAVEZ", "DOMINGUEZ", "ELLISON", "GRIFFIN", "HAYES",
    "JENSEN", "KESSLER", "LAMBERT", "MALDONADO", "NAVARRO", "PARSONS", "RHODES", "SANDOVAL",
    "TAYLOR", "VAUGHN", "WAGNER", "YOUNG",
};
const std::vector<std::string_view> kFirstNames = {
    "MARIA", "JAMES", "DAVID", "LINDA", "ROBERT", "SUSAN", "MICHAEL", "ANGELA", "JOSE",
    "KAREN", "THOMAS", "PATRICIA", "DANIEL", "ELENA",
};
const std::vector<std::string_view> kTradePrefixes = {
    "A-1", "1ST CHOICE", "ALL STAR", "AAA", "4 STAR", "A PLUS", "AMERICA'S", "ACE", "5 STAR",
    "24 HOUR", "TOP NOTCH", "BEST VALUE",
};
// clang-format on

// The legal suffixes of names, with the spellings the dirt uses; every one is
// a suffix the vendor key drops (NormalizeVendorName), so all spellings of a
// vendor share its key.
struct SuffixSpec {
  std::string_view upper;       // "INC"
  std::string_view punctuated;  // "INC."
  std::string_view title;       // "Inc."
  std::string_view long_form;   // "INCORPORATED"
};
constexpr std::array<SuffixSpec, 10> kSuffixes = {{
    {"LLC", "LLC", "LLC", "L.L.C."},
    {"INC", "INC.", "Inc.", "INCORPORATED"},
    {"CORP", "CORP.", "Corp.", "CORPORATION"},
    {"CO", "CO.", "Co.", "COMPANY"},
    {"LTD", "LTD.", "Ltd.", "LIMITED"},
    {"LP", "L.P.", "L.P.", "L.P."},
    {"PLLC", "P.L.L.C.", "PLLC", "P.L.L.C."},
    {"PC", "P.C.", "P.C.", "P.C."},
    {"LLP", "L.L.P.", "LLP", "L.L.P."},
    {"PA", "P.A.", "P.A.", "P.A."},
}};
constexpr int kNoSuffix = -1;

int SuffixIndex(std::string_view word) {
  for (size_t i = 0; i < kSuffixes.size(); ++i)
    if (kSuffixes[i].upper == word) return static_cast<int>(i);
  return kNoSuffix;
}

// Two names that give the same key here are one vendor to the loader: words
// of letters, digits and '&', apostrophes and dots dropped, other punctuation
// separating, upper case (as NormalizeVendorName, before legal suffixes).
std::string NameKey(std::string_view name) {
  std::string key;
  bool pending_space = false;
  for (char c : name) {
    if (c == '\'' || c == '.') continue;
    bool word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '&' || static_cast<unsigned char>(c) >= 0x80;
    if (!word) {
      pending_space = !key.empty();
      continue;
    }
    if (pending_space) key += ' ';
    pending_space = false;
    key += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  }
  return key;
}

// ---------------------------------------------------------------------------
// The catalog: departments, items and the vendor population, built once.

constexpr size_t kMaxPicks = 3;

// Up to three choices with cumulative shares (the last is 1).
struct Picks {
  std::array<uint16_t, kMaxPicks> index{};
  std::array<double, kMaxPicks> cumulative{};
  size_t count = 0;

  uint16_t Pick(double u) const {
    for (size_t i = 0; i + 1 < count; ++i)
      if (u < cumulative[i]) return index[i];
    return index[count - 1];
  }
  bool Contains(uint16_t value) const {
    for (size_t i = 0; i < count; ++i)
      if (index[i] == value) return true;
    return false;
  }
};

struct Vendor {
  std::string base;             // upper-case name without its legal suffix
  int suffix = kNoSuffix;       // into kSuffixes
  std::string name;             // as the clean file writes it
  std::string_view trade_item;  // what its trade word says it bills; empty: any
  size_t kind = 0;              // into Kinds(); real sample vendors use their own picks
  bool real = false;            // from the embedded sample rows
  double weight = 0;            // share of payments
  double amount_offset = 0;     // log10 dollars added to the item's usual size
  Picks departments;
  Picks items;
};

struct Catalog {
  std::vector<std::string> departments;
  std::vector<double> department_cumulative;  // for stray payments
  std::vector<ItemSpec> items;
  std::vector<std::vector<uint16_t>> kind_items;        // per kind
  std::vector<std::vector<uint16_t>> kind_departments;  // per kind; empty: any
  std::vector<Vendor> vendors;                          // by payment rank, most paid first
  std::vector<double> vendor_cumulative;
};

// Shape of the population: the k-th most paid vendor gets a share
// proportional to 1 / (k + kRankOffset), so the top few get a few percent of
// the payments each and the rarest still a steady trickle every year.
constexpr double kRankOffset = 8;
// Ranks of the real sample vendors: well-known, not the very top.
constexpr std::array<size_t, 2> kRealVendorRanks = {9, 23};

int FindIndex(const std::vector<std::string>& names, std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<int>(i);
  return -1;
}

// Builds a name for a vendor of `kind`; the caller retries on a clash.
Vendor MakeVendor(const KindSpec& kind, int fixed_index, Random& random) {
  Vendor vendor;
  if (kind.naming == Naming::kFixed) {
    const Trade& trade = kind.trades[static_cast<size_t>(fixed_index) % kind.trades.size()];
    vendor.base = std::string(trade.word);
    vendor.trade_item = trade.item;
    return vendor;
  }
  const Trade& trade = random.Pick(kind.trades);
  const std::string word(trade.word);
  vendor.trade_item = trade.item;
  if (kind.naming == Naming::kLawFirm) {
    switch (random.Below(3)) {
      case 0:
        vendor.base =
            std::string(random.Pick(kSurnames)) + " & " + std::string(random.Pick(kSurnames));
        break;
      case 1:
        vendor.base = std::string(random.Pick(kSurnames)) + " " +
                      std::string(random.Pick(kSurnames)) + " & " +
                      std::string(random.Pick(kSurnames));
        break;
      default:
        vendor.base = "LAW OFFICES OF " + std::string(random.Pick(kFirstNames)) + " " +
                      std::string(random.Pick(kSurnames));
        break;
    }
    static constexpr std::array<std::string_view, 5> kLaw = {"PLLC", "PC", "LLP", "PA", ""};
    vendor.suffix = SuffixIndex(kLaw[random.Below(kLaw.size())]);
    return vendor;
  }
  if (kind.naming == Naming::kNonprofit) {
    vendor.base =
        (random.Chance(0.3) ? "THE " : "") + std::string(random.Pick(kPlaces)) + " " + word;
    vendor.suffix = random.Chance(0.6) ? SuffixIndex("INC") : kNoSuffix;
    return vendor;
  }
  const uint64_t shape = random.Below(100);
  if (shape < 55) {
    vendor.base = std::string(random.Pick(kPlaces)) + " " + word;
  } else if (shape < 70) {
    vendor.base = std::string(random.Pick(kSurnames)) + " " + word;
  } else if (shape < 78) {
    std::string_view place = random.Pick(kPlaces);
    if (place == "ARIZONA") place = "SOUTHWEST";  // not ARIZONA ... OF ARIZONA
    vendor.base = std::string(place) + " " + word + " OF ARIZONA";
  } else if (shape < 85) {
    vendor.base = std::string(random.Pick(kSurnames)) + " & SONS " + word;
  } else if (shape < 90) {
    vendor.base = "THE " + std::string(random.Pick(kPlaces)) + " " + word;
  } else {
    vendor.base = std::string(random.Pick(kTradePrefixes)) + " " + word;
  }
  // LLC 38%, INC 32%, CORP 8%, CO 6%, LTD 3%, LP 3%, none 10%.
  const uint64_t suffix = random.Below(100);
  vendor.suffix = suffix < 38   ? SuffixIndex("LLC")
                  : suffix < 70 ? SuffixIndex("INC")
                  : suffix < 78 ? SuffixIndex("CORP")
                  : suffix < 84 ? SuffixIndex("CO")
                  : suffix < 87 ? SuffixIndex("LTD")
                  : suffix < 90 ? SuffixIndex("LP")
                                : kNoSuffix;
  return vendor;
}

// Splits a published name into its base and its legal suffix, if any.
std::pair<std::string, int> SplitSuffix(std::string_view name) {
  size_t space = name.rfind(' ');
  int suffix = space == std::string_view::npos ? kNoSuffix : SuffixIndex(name.substr(space + 1));
  if (suffix == kNoSuffix) return {std::string(name), kNoSuffix};
  return {std::string(name.substr(0, space)), suffix};
}

void FinishName(Vendor* vendor) {
  vendor->name = vendor->base;
  if (vendor->suffix != kNoSuffix) {
    vendor->name += ' ';
    vendor->name += kSuffixes[static_cast<size_t>(vendor->suffix)].upper;
  }
}

// Fills `picks` with `count` distinct choices: `first` (if >= 0) and then
// others from `pool` (indices), the first taking `primary` of the share and
// the rest splitting what is left.
void ChoosePicks(const std::vector<uint16_t>& pool, int first, size_t count, double primary,
                 Random& random, Picks* picks) {
  picks->count = 0;
  if (first >= 0) picks->index[picks->count++] = static_cast<uint16_t>(first);
  count = std::min({count, pool.size() + picks->count, kMaxPicks});
  size_t attempts = 0;
  while (picks->count < count && attempts++ < 100) {
    uint16_t value = random.Pick(pool);
    if (!picks->Contains(value)) picks->index[picks->count++] = value;
  }
  double cumulative = 0;
  for (size_t i = 0; i < picks->count; ++i) {
    double share = picks->count == 1 ? 1.0
                   : i == 0          ? primary
                                     : (1.0 - primary) / static_cast<double>(picks->count - 1);
    cumulative += share;
    picks->cumulative[i] = i + 1 == picks->count ? 1.0 : cumulative;
  }
}

size_t PickCount(Random& random) {
  uint64_t u = random.Below(100);
  return u < 55 ? 1 : (u < 85 ? 2 : 3);
}

Result<Catalog> LoadCatalog() {
  Catalog catalog;
  for (const DepartmentSpec& department : kDepartments) {
    catalog.departments.emplace_back(department.name);
  }
  catalog.items.assign(kItems.begin(), kItems.end());
  auto item_index = [&catalog](std::string_view name) {
    for (size_t i = 0; i < catalog.items.size(); ++i)
      if (catalog.items[i].name == name) return static_cast<int>(i);
    return -1;
  };

  // The real vendors of the embedded sample, with the departments and items
  // they are paid under there.
  CB_ASSIGN_OR_RETURN(std::string_view sample, EmbeddedFile(kSampleFile));
  CsvReader reader(MakeViewSource(sample, std::string(kSampleFile)));
  CsvRecord record;
  CB_ASSIGN_OR_RETURN(bool has_header, reader.Next(&record));
  std::string header;
  for (size_t i = 0; has_header && i < record.fields.size(); ++i) {
    if (i) header += ',';
    header += record.fields[i];
  }
  if (header != kHeader) {
    return Fail(ErrorCode::kInternal,
                "embedded " + std::string(kSampleFile) + " has another header: " + header);
  }
  struct RealVendor {
    std::string name;
    std::vector<std::pair<uint16_t, int>> departments;  // (index, rows)
    std::vector<std::pair<uint16_t, int>> items;
  };
  std::vector<RealVendor> real;
  while (true) {
    CB_ASSIGN_OR_RETURN(bool more, reader.Next(&record));
    if (!more) break;
    if (record.problem != CsvProblem::kNone || record.fields.size() != kColumnCount) {
      return Fail(ErrorCode::kInternal, "embedded " + std::string(kSampleFile) +
                                            " has a malformed row " + std::to_string(record.index));
    }
    int department = FindIndex(catalog.departments, record.fields[kDepartment]);
    int item = item_index(record.fields[kItem]);
    if (department < 0 || item < 0) {
      return Fail(ErrorCode::kInternal, "embedded " + std::string(kSampleFile) +
                                            " names an unknown department or item in row " +
                                            std::to_string(record.index));
    }
    auto it = std::find_if(real.begin(), real.end(), [&record](const RealVendor& v) {
      return v.name == record.fields[kVendor];
    });
    if (it == real.end()) {
      real.push_back({std::string(record.fields[kVendor]), {}, {}});
      it = real.end() - 1;
    }
    for (auto [list, value] :
         {std::pair{&it->departments, department}, std::pair{&it->items, item}}) {
      auto found = std::find_if(list->begin(), list->end(),
                                [value](const auto& entry) { return entry.first == value; });
      if (found == list->end()) {
        list->emplace_back(static_cast<uint16_t>(value), 1);
      } else {
        ++found->second;
      }
    }
  }
  if (real.empty()) {
    return Fail(ErrorCode::kInternal, "embedded " + std::string(kSampleFile) + " has no rows");
  }

  // The kinds' items and departments as indices.
  const std::vector<KindSpec>& kinds = Kinds();
  std::vector<uint16_t> all_departments;
  for (size_t i = 0; i < catalog.departments.size(); ++i) {
    all_departments.push_back(static_cast<uint16_t>(i));
  }
  for (const KindSpec& kind : kinds) {
    std::vector<uint16_t> items;
    for (std::string_view name : kind.items) {
      int index = item_index(name);
      if (index < 0) return Fail(ErrorCode::kInternal, "unknown item " + std::string(name));
      items.push_back(static_cast<uint16_t>(index));
    }
    for (const Trade& trade : kind.trades) {
      if (!trade.item.empty() && item_index(trade.item) < 0) {
        return Fail(ErrorCode::kInternal, "unknown item " + std::string(trade.item));
      }
    }
    std::vector<uint16_t> departments;
    for (std::string_view name : kind.departments) {
      int index = FindIndex(catalog.departments, name);
      if (index < 0) return Fail(ErrorCode::kInternal, "unknown department " + std::string(name));
      departments.push_back(static_cast<uint16_t>(index));
    }
    catalog.kind_items.push_back(std::move(items));
    catalog.kind_departments.push_back(std::move(departments));
  }

  // The synthetic vendors, each with a name no other vendor's key shares.
  Random random(kCatalogSeed);
  std::unordered_set<std::string> keys;
  std::vector<Vendor> synthetic;
  for (const RealVendor& vendor : real) keys.insert(NameKey(SplitSuffix(vendor.name).first));
  for (size_t k = 0; k < kinds.size(); ++k) {
    for (int n = 0; n < kinds[k].vendors; ++n) {
      Vendor vendor;
      bool unique = false;
      for (int attempt = 0; attempt < 50 && !unique; ++attempt) {
        vendor = MakeVendor(kinds[k], n, random);
        unique = keys.insert(NameKey(vendor.base)).second;
      }
      if (!unique) continue;  // the word lists ran out of names for this kind
      vendor.kind = k;
      FinishName(&vendor);
      synthetic.push_back(std::move(vendor));
    }
  }

  // Target shares of payments per department.
  double department_total = 0;
  for (const DepartmentSpec& department : kDepartments) department_total += department.weight;
  std::vector<double> target;
  double cumulative = 0;
  for (const DepartmentSpec& department : kDepartments) {
    target.push_back(department.weight / department_total);
    cumulative += department.weight / department_total;
    catalog.department_cumulative.push_back(cumulative);
  }
  catalog.department_cumulative.back() = 1.0;

  // Payment ranks: a kind's frequency pulls its vendors up, and a kind that
  // serves only small departments (court reporters, law firms) stays down.
  std::vector<double> pull;
  for (size_t k = 0; k < kinds.size(); ++k) {
    double mass = catalog.kind_departments[k].empty() ? 1.0 : 0.0;
    for (uint16_t d : catalog.kind_departments[k]) mass += target[d];
    pull.push_back(kinds[k].frequency * std::clamp(4.0 * mass, 0.05, 1.0));
  }
  std::vector<std::pair<double, size_t>> order;
  for (size_t i = 0; i < synthetic.size(); ++i) {
    order.emplace_back(random.Uniform() / pull[synthetic[i].kind], i);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [key, index] : order) catalog.vendors.push_back(std::move(synthetic[index]));
  for (size_t r = 0; r < real.size(); ++r) {
    Vendor vendor;
    vendor.name = real[r].name;
    std::tie(vendor.base, vendor.suffix) = SplitSuffix(vendor.name);
    vendor.real = true;
    // Their departments and items as in the sample, most rows first.
    for (auto [list, picks] : {std::pair{&real[r].departments, &vendor.departments},
                               std::pair{&real[r].items, &vendor.items}}) {
      std::stable_sort(list->begin(), list->end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      int total = 0;
      for (size_t i = 0; i < list->size() && i < kMaxPicks; ++i) total += (*list)[i].second;
      double running = 0;
      for (size_t i = 0; i < list->size() && i < kMaxPicks; ++i) {
        running += static_cast<double>((*list)[i].second) / total;
        picks->index[picks->count] = (*list)[i].first;
        picks->cumulative[picks->count++] = running;
      }
      picks->cumulative[picks->count - 1] = 1.0;
    }
    size_t rank = r < kRealVendorRanks.size() ? kRealVendorRanks[r] : catalog.vendors.size();
    rank = std::min(rank, catalog.vendors.size());
    catalog.vendors.insert(catalog.vendors.begin() + static_cast<std::ptrdiff_t>(rank),
                           std::move(vendor));
  }

  double total_weight = 0;
  for (size_t rank = 0; rank < catalog.vendors.size(); ++rank) {
    catalog.vendors[rank].weight = 1.0 / (static_cast<double>(rank) + kRankOffset);
    total_weight += catalog.vendors[rank].weight;
  }
  cumulative = 0;
  for (Vendor& vendor : catalog.vendors) {
    vendor.weight /= total_weight;
    cumulative += vendor.weight;
    catalog.vendor_cumulative.push_back(cumulative);
  }
  catalog.vendor_cumulative.back() = 1.0;

  // Departments: most paid vendors first, each going to the department (among
  // those its kind serves) furthest below its target share that can take the
  // vendor's payments without overshooting, else to the one furthest below:
  // the big vendors fill the big departments and the small ones the rest.
  std::vector<double> remaining = target;  // target share not yet assigned
  for (Vendor& vendor : catalog.vendors) {
    if (!vendor.real) {
      const std::vector<uint16_t>& preferred = catalog.kind_departments[vendor.kind];
      const std::vector<uint16_t>& pool = preferred.empty() ? all_departments : preferred;
      int count = kinds[vendor.kind].department_count;
      size_t wanted = count > 0 ? static_cast<size_t>(count) : PickCount(random);
      wanted = std::min(wanted, pool.size());
      // The first department takes 60-95% of the vendor's payments.
      const double primary = 0.6 + 0.35 * random.Uniform();
      auto share_of = [wanted, primary](size_t slot) {
        return wanted == 1 ? 1.0
               : slot == 0 ? primary
                           : (1.0 - primary) / static_cast<double>(wanted - 1);
      };
      vendor.departments.count = 0;
      for (size_t slot = 0; slot < wanted; ++slot) {
        const double amount = share_of(slot) * vendor.weight;
        double best_fit = -1e300;
        double best_any = -1e300;
        int fit = -1;
        int any = -1;
        for (uint16_t d : pool) {
          if (vendor.departments.Contains(d)) continue;
          const double jitter = 0.7 + 0.6 * random.Uniform();
          if (amount <= 1.2 * remaining[d] && remaining[d] / target[d] * jitter > best_fit) {
            best_fit = remaining[d] / target[d] * jitter;
            fit = d;
          }
          if (remaining[d] * jitter > best_any) {
            best_any = remaining[d] * jitter;
            any = d;
          }
        }
        const auto choice = static_cast<uint16_t>(fit >= 0 ? fit : any);
        vendor.departments.index[slot] = choice;
        vendor.departments.count = slot + 1;
        remaining[choice] -= amount;
      }
      double running = 0;
      for (size_t slot = 0; slot < wanted; ++slot) {
        running += share_of(slot);
        vendor.departments.cumulative[slot] = slot + 1 == wanted ? 1.0 : running;
      }
      ChoosePicks(catalog.kind_items[vendor.kind], item_index(vendor.trade_item), PickCount(random),
                  0.6 + 0.35 * random.Uniform(), random, &vendor.items);
    } else {
      for (size_t slot = 0; slot < vendor.departments.count; ++slot) {
        double share = vendor.departments.cumulative[slot] -
                       (slot == 0 ? 0.0 : vendor.departments.cumulative[slot - 1]);
        remaining[vendor.departments.index[slot]] -= share * vendor.weight;
      }
    }
    vendor.amount_offset = 0.15 * random.Normalish();
  }
  return catalog;
}

const Result<Catalog>& SharedCatalog() {
  static const Result<Catalog> catalog = LoadCatalog();
  return catalog;
}

// ---------------------------------------------------------------------------
// Calendar.

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[static_cast<size_t>(month - 1)];
}

// 0 = Sunday ... 6 = Saturday (Sakamoto's method).
int Weekday(int year, int month, int day) {
  static constexpr std::array<int, 12> kOffsets = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
  if (month < 3) year -= 1;
  return (year + year / 4 - year / 100 + year / 400 + kOffsets[static_cast<size_t>(month - 1)] +
          day) %
         7;
}

// One calendar day of the fiscal years asked.
struct Day {
  std::string text;           // M/D/YYYY
  std::string iso;            // YYYY-MM-DD, for malformed rows
  uint32_t fiscal_year = 0;   // index from the first fiscal year
  uint32_t fiscal_month = 0;  // index from the first fiscal year's July
  int year = 0;
  int month = 0;
};

// ---------------------------------------------------------------------------
// The writer.

// Payments: credits and voids, whole-dollar invoices, zero lines, and the
// rare amount typed with a dollar sign.
constexpr double kNegativeShare = 0.02;
constexpr double kParenthesesShareOfNegative = 0.5;
constexpr double kWholeDollarShare = 0.3;
constexpr double kZeroShare = 0.001;
constexpr double kDollarSignShare = 0.004;
constexpr int64_t kMaxCents = int64_t{50'000'000'000};  // $500 million on one line
// Payments booked under a department or item the vendor usually does not serve.
constexpr double kStrayShare = 0.02;
// Relative weight of a payment on a weekend or a fixed-date holiday.
constexpr double kWeekendWeight = 0.02;
constexpr double kHolidayWeight = 0.05;

constexpr size_t kFlushBytes = size_t{1} << 20;

// The city's payment seasons by calendar month (January first): July, the
// new fiscal year, starts slow; November and December dip for the holidays;
// spring picks up and June carries the year-end push to spend the budget.
constexpr std::array<double, 12> kSeason = {0.95, 0.98, 1.05, 1.03, 1.07, 1.38,
                                            0.80, 0.92, 0.97, 1.02, 0.93, 0.90};
// Spending grows 6% a year: log10(1.06) per fiscal year, spread over its months.
constexpr double kGrowthLog10PerYear = 0.025305865264770262;

// Planted anomalies draw from a stream of their own (see PhoenixGenOptions).
constexpr uint64_t kAnomalySeed = 0x414e4f4d414c5931ULL;  // "ANOMALY1"
// Extremes go to the big vendors' main department and item, so their peer
// group has many payments to stand out from.
constexpr size_t kExtremeVendorRanks = 100;

enum class VendorDirt {
  kTitleCasePunctuated,  // Acme Supply, Inc.
  kTitleCase,            // Acme Supply Inc
  kPunctuatedSuffix,     // ACME SUPPLY, INC.
  kLongSuffix,           // ACME SUPPLY INCORPORATED
  kDroppedSuffix,        // ACME SUPPLY
  kTrailingSpace,        // "ACME SUPPLY INC "
  kLeadingSpace,         // " ACME SUPPLY INC"
  kDoubleSpace,          // ACME  SUPPLY INC
  kCount
};

enum class DepartmentDirt { kUpperCase, kLowerCase, kTrailingSpace, kLeadingSpace, kCount };

enum class Malformation { kTooFewFields, kTooManyFields, kBadDate, kBadAmount, kCount };

// Another spelling of a vendor's name that keeps its key; never the clean one.
std::string VendorSpelling(const Vendor& vendor, VendorDirt dirt) {
  const bool has_suffix = vendor.suffix != kNoSuffix;
  const SuffixSpec* suffix = has_suffix ? &kSuffixes[static_cast<size_t>(vendor.suffix)] : nullptr;
  std::string out;
  switch (dirt) {
    case VendorDirt::kTitleCasePunctuated:
      out = AsciiTitle(vendor.base);
      if (has_suffix) out += ", " + std::string(suffix->title);
      break;
    case VendorDirt::kTitleCase:
      out = AsciiTitle(vendor.name);
      break;
    case VendorDirt::kPunctuatedSuffix:
      out = has_suffix ? vendor.base + ", " + std::string(suffix->punctuated) : vendor.name + " ";
      break;
    case VendorDirt::kLongSuffix:
      out = has_suffix ? vendor.base + " " + std::string(suffix->long_form) : " " + vendor.name;
      break;
    case VendorDirt::kDroppedSuffix:
      out = has_suffix ? vendor.base : " " + vendor.name + " ";
      break;
    case VendorDirt::kTrailingSpace:
      out = vendor.name + " ";
      break;
    case VendorDirt::kLeadingSpace:
      out = " " + vendor.name;
      break;
    case VendorDirt::kDoubleSpace: {
      out = vendor.name;
      size_t space = out.find(' ');
      if (space == std::string::npos) {
        out += "  ";
      } else {
        out.insert(space, " ");
      }
      break;
    }
    case VendorDirt::kCount:
      break;
  }
  if (out == vendor.name) out += ' ';  // a title-cased name already in title case
  return out;
}

std::string DepartmentSpelling(std::string_view name, DepartmentDirt dirt) {
  std::string out;
  switch (dirt) {
    case DepartmentDirt::kUpperCase:
      out = AsciiUpper(name);
      break;
    case DepartmentDirt::kLowerCase:
      out = AsciiLower(name);
      break;
    case DepartmentDirt::kTrailingSpace:
      out = std::string(name) + " ";
      break;
    case DepartmentDirt::kLeadingSpace:
      out = " " + std::string(name);
      break;
    case DepartmentDirt::kCount:
      break;
  }
  if (out == name) out += ' ';
  return out;
}

// Appends a payment amount as the portal writes it: 254.99, "27,678.75" (the
// separators force quotes), -5.00 or "(1,234.00)" for credits, and rarely a
// dollar sign. `quote` false writes a separated amount without its quotes.
void AppendAmount(std::string* out, int64_t cents, bool parentheses, bool dollar,
                  bool quote = true) {
  const uint64_t magnitude =
      cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
  char digits[24];
  const char* digits_end = std::to_chars(digits, digits + sizeof digits, magnitude / 100).ptr;
  const size_t count = static_cast<size_t>(digits_end - digits);
  char text[48];
  size_t k = 0;
  const bool negative = cents < 0;
  const bool wrapped = negative && parentheses;
  if (wrapped) {
    text[k++] = '(';
  } else if (negative) {
    text[k++] = '-';
  }
  if (dollar) text[k++] = '$';
  for (size_t i = 0; i < count; ++i) {
    if (i > 0 && (count - i) % 3 == 0) text[k++] = ',';
    text[k++] = digits[i];
  }
  text[k++] = '.';
  text[k++] = static_cast<char>('0' + magnitude % 100 / 10);
  text[k++] = static_cast<char>('0' + magnitude % 10);
  if (wrapped) text[k++] = ')';
  const bool quoted = quote && count > 3;
  if (quoted) out->push_back('"');
  out->append(text, k);
  if (quoted) out->push_back('"');
}

// A name as one CSV field (quoted when it holds a comma).
std::string CsvField(std::string_view value) {
  std::string out;
  AppendCsvField(&out, value);
  return out;
}

class PhoenixWriter {
 public:
  // `fabricated` is the index of the department whose amounts are invented,
  // or -1.
  PhoenixWriter(const Catalog& catalog, const PhoenixGenOptions& options, int fabricated,
                std::ostream& out)
      : catalog_(catalog),
        options_(options),
        out_(out),
        random_(options.seed),
        anomaly_random_(options.seed ^ kAnomalySeed),
        fabricated_(fabricated) {
    BuildDays();
    BuildSpellings();
    for (const ItemSpec& item : catalog_.items) item_fields_.push_back(CsvField(item.name));
    buffer_.reserve(kFlushBytes + (size_t{64} << 10));
    next_extreme_row_ = NextTargetRow(0, options_.extremes);
    next_duplicate_row_ = NextTargetRow(0, options_.duplicates);
  }

  Result<PhoenixGenStats> Run() {
    if (options_.plant_log != nullptr)
      *options_.plant_log << "kind,line,date,department,vendor,amount,of_line\n";
    buffer_ += kHeader;
    buffer_ += '\n';
    // Rows in date order: row r falls on the day where the cumulative weight
    // passes (r + u) / rows of the total, so days get rows in proportion to
    // their weight however many rows are asked.
    const double total = day_cumulative_.back();
    const double rows = static_cast<double>(options_.rows);
    size_t day = 0;
    for (uint64_t row = 0; row < options_.rows; ++row) {
      const double target = (static_cast<double>(row) + random_.Uniform()) / rows * total;
      while (day + 1 < days_.size() && day_cumulative_[day] <= target) ++day;
      if (!pending_.empty()) WriteDueCopies(day, false);
      WriteRow(days_[day], day, row);
      if (buffer_.size() >= kFlushBytes) CB_RETURN_IF_ERROR(Flush());
    }
    if (!pending_.empty()) WriteDueCopies(day, true);
    CB_RETURN_IF_ERROR(Flush());
    if (options_.plant_log != nullptr && !*options_.plant_log)
      return Fail(ErrorCode::kIoError, "writing the plant log failed");
    out_.flush();
    if (!out_) return Fail(ErrorCode::kIoError, "writing the generated Phoenix CSV failed");
    return stats_;
  }

 private:
  Status Flush() {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
    if (!out_) return Fail(ErrorCode::kIoError, "writing the generated Phoenix CSV failed");
    return Ok();
  }

  // Every day from July 1 before the first fiscal year to June 30 of the last,
  // weighted: check runs vary from day to day, weekends and holidays see
  // almost nothing, June (the year-end push) more, July less.
  void BuildDays() {
    int year = options_.first_fiscal_year - 1;
    int month = 7;
    int day = 1;
    uint32_t fiscal_month = 0;
    double cumulative = 0;
    while (year < options_.last_fiscal_year || month <= 6) {
      Day entry;
      char text[16];
      char* p = std::to_chars(text, text + sizeof text, month).ptr;
      *p++ = '/';
      p = std::to_chars(p, text + sizeof text, day).ptr;
      *p++ = '/';
      p = std::to_chars(p, text + sizeof text, year).ptr;
      entry.text.assign(text, static_cast<size_t>(p - text));
      char iso[16];
      iso[0] = static_cast<char>('0' + year / 1000);
      iso[1] = static_cast<char>('0' + year / 100 % 10);
      iso[2] = static_cast<char>('0' + year / 10 % 10);
      iso[3] = static_cast<char>('0' + year % 10);
      iso[4] = '-';
      iso[5] = static_cast<char>('0' + month / 10);
      iso[6] = static_cast<char>('0' + month % 10);
      iso[7] = '-';
      iso[8] = static_cast<char>('0' + day / 10);
      iso[9] = static_cast<char>('0' + day % 10);
      entry.iso.assign(iso, 10);
      const int fiscal_year = month >= 7 ? year + 1 : year;
      entry.fiscal_year = static_cast<uint32_t>(fiscal_year - options_.first_fiscal_year);
      entry.fiscal_month = fiscal_month;
      entry.year = year;
      entry.month = month;

      const int weekday = Weekday(year, month, day);
      const bool holiday = (month == 1 && day == 1) || (month == 7 && day == 4) ||
                           (month == 11 && day == 11) || (month == 12 && day == 25);
      double weight;
      if (weekday == 0 || weekday == 6) {
        weight = kWeekendWeight;
      } else if (holiday) {
        weight = kHolidayWeight;
      } else {
        const uint64_t h = MixHash(options_.seed, 3, static_cast<uint64_t>(days_.size()), 0);
        weight = 0.4 + 1.2 * HashFraction(h);
      }
      weight *= kSeason[static_cast<size_t>(month - 1)] *
                Pow10(kGrowthLog10PerYear * static_cast<double>(fiscal_month) / 12.0);
      cumulative += weight;
      days_.push_back(std::move(entry));
      day_cumulative_.push_back(cumulative);

      if (++day > DaysInMonth(year, month)) {
        day = 1;
        ++fiscal_month;
        if (++month > 12) {
          month = 1;
          ++year;
        }
      }
    }
    fiscal_years_ = static_cast<size_t>(options_.last_fiscal_year - options_.first_fiscal_year + 1);
    fiscal_months_ = fiscal_years_ * 12;
  }

  // Dirt is a property of a vendor in a fiscal year (its vendor-master record
  // as it stood that year) and of a department in a fiscal month (that
  // month's file), as in the real extracts: every row of a dirty cell carries
  // the same spelling, so the distinct spellings stay few however many rows
  // are written. Both are decided up front, so dirt draws nothing from the
  // row stream: a seed writes the same payments at every dirt rate.
  void BuildSpellings() {
    // Vendor and department cells each dirty with this chance give dirt_rate
    // of rows.
    const double cell_rate =
        options_.dirt_rate >= 1.0 ? 1.0 : 1.0 - SquareRoot(1.0 - options_.dirt_rate);
    const size_t vendors = catalog_.vendors.size();
    vendor_spelling_.resize(vendors * fiscal_years_);
    for (size_t v = 0; v < vendors; ++v) {
      const Vendor& vendor = catalog_.vendors[v];
      const uint32_t clean = AddSpelling(vendor.name);
      for (size_t y = 0; y < fiscal_years_; ++y) {
        const uint64_t h = MixHash(options_.seed, 1, v, y);
        uint32_t spelling = clean;
        if (HashFraction(h) < cell_rate) {
          auto dirt =
              static_cast<VendorDirt>((h & 0xffff) % static_cast<uint64_t>(VendorDirt::kCount));
          spelling = AddSpelling(VendorSpelling(vendor, dirt));
        }
        vendor_spelling_[v * fiscal_years_ + y] = spelling;
      }
    }
    const size_t departments = catalog_.departments.size();
    department_spelling_.resize(departments * fiscal_months_);
    for (size_t d = 0; d < departments; ++d) {
      const std::string& name = catalog_.departments[d];
      const uint32_t clean = AddSpelling(name);
      // A department is misspelled one or two ways, in whichever months.
      std::array<uint32_t, 2> dirty;
      for (size_t k = 0; k < dirty.size(); ++k) {
        const uint64_t h = MixHash(options_.seed, 2, d, 1000 + k);
        dirty[k] = AddSpelling(DepartmentSpelling(
            name, static_cast<DepartmentDirt>(h % static_cast<uint64_t>(DepartmentDirt::kCount))));
      }
      for (size_t m = 0; m < fiscal_months_; ++m) {
        const uint64_t h = MixHash(options_.seed, 2, d, m);
        department_spelling_[d * fiscal_months_ + m] =
            HashFraction(h) < cell_rate ? dirty[(h & 0xff) % dirty.size()] : clean;
      }
    }
  }

  uint32_t AddSpelling(std::string raw) {
    spelling_fields_.push_back(CsvField(raw));
    spellings_.push_back(std::move(raw));
    return static_cast<uint32_t>(spellings_.size() - 1);
  }

  uint32_t PickVendor() {
    const double u = random_.Uniform();
    const auto& cumulative = catalog_.vendor_cumulative;
    auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    if (it == cumulative.end()) --it;
    return static_cast<uint32_t>(it - cumulative.begin());
  }

  uint16_t PickDepartment(const Vendor& vendor) {
    const double u = random_.Uniform();
    if (u < kStrayShare) {
      const auto& cumulative = catalog_.department_cumulative;
      auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u / kStrayShare);
      if (it == cumulative.end()) --it;
      return static_cast<uint16_t>(it - cumulative.begin());
    }
    return vendor.departments.Pick((u - kStrayShare) / (1.0 - kStrayShare));
  }

  uint16_t PickItem(const Vendor& vendor) {
    const double u = random_.Uniform();
    if (u < kStrayShare && !vendor.real) {
      const std::vector<uint16_t>& pool = catalog_.kind_items[vendor.kind];
      return pool[static_cast<size_t>(u / kStrayShare * static_cast<double>(pool.size())) %
                  pool.size()];
    }
    return vendor.items.Pick(u < kStrayShare ? u / kStrayShare
                                             : (u - kStrayShare) / (1.0 - kStrayShare));
  }

  int64_t Amount(const Vendor& vendor, const ItemSpec& item) {
    const double dollars_log10 =
        item.log10_mean + vendor.amount_offset + item.log10_spread * random_.Normalish();
    int64_t cents = static_cast<int64_t>(Pow10(dollars_log10 + 2.0) + 0.5);
    if (cents < 1) cents = 1;
    if (cents > kMaxCents) cents = kMaxCents;
    if (cents >= 100 && random_.Chance(kWholeDollarShare)) cents -= cents % 100;
    if (random_.Chance(kZeroShare)) cents = 0;
    if (random_.Chance(kNegativeShare)) cents = -cents;
    return cents;
  }

  void WriteRow(const Day& day, size_t day_index, uint64_t row) {
    const uint32_t v = PickVendor();
    const Vendor& vendor = catalog_.vendors[v];
    const uint16_t department = PickDepartment(vendor);
    const uint16_t item = PickItem(vendor);
    int64_t cents = Amount(vendor, catalog_.items[item]);
    const bool parentheses = random_.Chance(kParenthesesShareOfNegative);
    const bool dollar = random_.Chance(kDollarSignShare);
    const bool bad = random_.Chance(options_.bad_rate);
    const uint32_t vendor_spelling = vendor_spelling_[v * fiscal_years_ + day.fiscal_year];
    const uint32_t department_spelling =
        department_spelling_[department * fiscal_months_ + day.fiscal_month];

    ++stats_.rows;
    ++line_;
    if (!bad) {
      // Planted anomalies (none unless asked): they change only this row's
      // amount, or add a copy of it later.
      if (static_cast<int>(department) == fabricated_) {
        cents = InventedAmount();
        ++stats_.fabricated_rows;
        LogPlant("fabricated", line_, day.text, spellings_[department_spelling],
                 spellings_[vendor_spelling], cents, 0);
      } else if (stats_.extremes < options_.extremes && row >= next_extreme_row_ && cents > 0 &&
                 v < kExtremeVendorRanks && vendor.departments.count > 0 &&
                 department == vendor.departments.index[0] && vendor.items.count > 0 &&
                 item == vendor.items.index[0]) {
        cents = ExtremeAmount(vendor, catalog_.items[item]);
        ++stats_.extremes;
        next_extreme_row_ = NextTargetRow(stats_.extremes, options_.extremes);
        LogPlant("extreme", line_, day.text, spellings_[department_spelling],
                 spellings_[vendor_spelling], cents, 0);
      } else if (stats_.duplicates + pending_.size() < options_.duplicates &&
                 row >= next_duplicate_row_ && cents >= 1'000'00 && cents % 100 != 0) {
        Copy copy;
        copy.due_day = day_index + 1 + anomaly_random_.Below(7);
        copy.vendor = v;
        copy.department = department;
        copy.item = item;
        copy.cents = cents;
        copy.of_line = line_;
        if (anomaly_random_.Chance(0.5)) {
          const auto dirt = static_cast<VendorDirt>(
              anomaly_random_.Below(static_cast<uint64_t>(VendorDirt::kCount)));
          copy.vendor_name = VendorSpelling(vendor, dirt);
        }
        pending_.push_back(std::move(copy));
        next_duplicate_row_ =
            NextTargetRow(stats_.duplicates + pending_.size(), options_.duplicates);
      }
      stats_.good_amount_cents += cents;
      buffer_ += day.text;
      buffer_ += ',';
      buffer_ += spelling_fields_[department_spelling];
      buffer_ += ',';
      buffer_ += spelling_fields_[vendor_spelling];
      buffer_ += ',';
      buffer_ += item_fields_[item];
      buffer_ += ',';
      AppendAmount(&buffer_, cents, parentheses, dollar);
      buffer_ += '\n';
      return;
    }
    ++stats_.bad_rows;
    WriteMalformed(day, spellings_[department_spelling], spellings_[vendor_spelling],
                   catalog_.items[item].name, cents, parentheses, dollar);
  }

  // The first row at which the `planted`-th of `count` anomalies may go:
  // evenly spread over the file, jittered.
  uint64_t NextTargetRow(uint64_t planted, uint64_t count) {
    if (planted >= count) return UINT64_MAX;
    const double spacing = static_cast<double>(options_.rows) / static_cast<double>(count);
    return static_cast<uint64_t>((static_cast<double>(planted) + anomaly_random_.Uniform()) *
                                 spacing);
  }

  // An amount a person made up: any dollar figure from $100 to $9,999.99,
  // evenly, so every leading digit is about as common.
  int64_t InventedAmount() {
    return 100'00 + static_cast<int64_t>(anomaly_random_.Below(9'900'00));
  }

  // 10^4 to 10^4.3 times the vendor's usual payment of the item.
  int64_t ExtremeAmount(const Vendor& vendor, const ItemSpec& item) {
    const double dollars_log10 =
        item.log10_mean + vendor.amount_offset + 4.0 + 0.3 * anomaly_random_.Uniform();
    const auto cents = static_cast<int64_t>(Pow10(dollars_log10 + 2.0) + 0.5);
    return std::min(cents, kMaxCents);
  }

  // Writes the copies due by `day_index` (all of them when `all`, at the end
  // of the file) dated that day.
  void WriteDueCopies(size_t day_index, bool all) {
    const Day& day = days_[day_index];
    for (size_t i = 0; i < pending_.size();) {
      if (!all && pending_[i].due_day > day_index) {
        ++i;
        continue;
      }
      const Copy& copy = pending_[i];
      const std::string& department =
          spellings_[department_spelling_[copy.department * fiscal_months_ + day.fiscal_month]];
      const std::string& vendor_name =
          copy.vendor_name.empty()
              ? spellings_[vendor_spelling_[copy.vendor * fiscal_years_ + day.fiscal_year]]
              : copy.vendor_name;
      ++stats_.rows;
      ++stats_.duplicates;
      ++line_;
      stats_.good_amount_cents += copy.cents;
      buffer_ += day.text;
      buffer_ += ',';
      AppendCsvField(&buffer_, department);
      buffer_ += ',';
      AppendCsvField(&buffer_, vendor_name);
      buffer_ += ',';
      buffer_ += item_fields_[copy.item];
      buffer_ += ',';
      AppendAmount(&buffer_, copy.cents, false, false);
      buffer_ += '\n';
      LogPlant("duplicate", line_, day.text, department, vendor_name, copy.cents, copy.of_line);
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }

  void LogPlant(std::string_view kind, uint64_t line, std::string_view date,
                std::string_view department, std::string_view vendor, int64_t cents,
                uint64_t of_line) {
    std::ostream* log = options_.plant_log;
    if (log == nullptr) return;
    std::string text(kind);
    text += ',' + std::to_string(line) + ',';
    AppendCsvField(&text, date);
    text += ',';
    AppendCsvField(&text, department);
    text += ',';
    AppendCsvField(&text, vendor);
    text += ',' + FormatCents(cents) + ',' + (of_line ? std::to_string(of_line) : "") + '\n';
    *log << text;
  }

  // A row a load must quarantine: cut short, split by a stray comma, or with
  // a date or amount the portal's format does not allow.
  void WriteMalformed(const Day& day, std::string_view department, std::string_view vendor,
                      std::string_view item, int64_t cents, bool parentheses, bool dollar) {
    std::string amount;
    AppendAmount(&amount, cents, parentheses, dollar);
    std::array<std::string_view, kColumnCount> fields = {day.text, department, vendor, item, {}};
    switch (static_cast<Malformation>(random_.Below(static_cast<uint64_t>(Malformation::kCount)))) {
      case Malformation::kTooFewFields: {  // a truncated line
        const size_t count = 1 + random_.Below(kColumnCount - 1);
        for (size_t i = 0; i < count; ++i) {
          if (i) buffer_ += ',';
          AppendCsvField(&buffer_, fields[i]);
        }
        buffer_ += '\n';
        return;
      }
      case Malformation::kTooManyFields: {
        // An amount with separators written without its quotes splits in
        // two or more; else a vendor name with a comma, unquoted.
        std::string bare_amount;
        AppendAmount(&bare_amount, cents, parentheses, dollar, /*quote=*/false);
        const bool split_amount = bare_amount.find(',') != std::string::npos;
        std::string split_vendor(Trim(vendor));
        if (!split_amount) {
          size_t space = split_vendor.find(' ');
          if (space == std::string::npos) {
            split_vendor += ",";
          } else {
            split_vendor[space] = ',';
          }
        }
        for (size_t i = 0; i < 4; ++i) {
          if (i) buffer_ += ',';
          if (i == kVendor) {
            buffer_ += split_vendor;  // unquoted on purpose
          } else {
            AppendCsvField(&buffer_, fields[i]);
          }
        }
        buffer_ += ',';
        if (split_amount) {
          buffer_ += bare_amount;
        } else {
          buffer_ += amount;
        }
        buffer_ += '\n';
        return;
      }
      case Malformation::kBadDate: {
        std::string date;
        switch (random_.Below(5)) {
          case 0:  // month and day out of range
            date = std::to_string(13 + random_.Below(7)) + "/" +
                   std::to_string(32 + random_.Below(14)) + "/" + std::to_string(day.year);
            break;
          case 1:  // ISO, which the portal's format is not
            date = day.iso;
            break;
          case 2:  // a two-digit year
            date = std::to_string(day.month) + "/" + std::to_string(1 + random_.Below(28)) + "/" +
                   std::to_string(day.year % 100);
            break;
          case 3:  // a day February never has
            date = "2/30/" + std::to_string(day.year);
            break;
          default:
            date = "";
            break;
        }
        fields[kDate] = date;
        WriteFields(fields, amount);
        return;
      }
      case Malformation::kBadAmount: {
        static constexpr std::array<std::string_view, 4> kBadAmounts = {"12.3.4", "N/A", "1,23.00",
                                                                        ""};
        std::string bad = CsvField(kBadAmounts[random_.Below(kBadAmounts.size())]);
        WriteFields(fields, bad);
        return;
      }
      case Malformation::kCount:
        return;
    }
  }

  // Four fields as CSV, then the amount already formatted.
  void WriteFields(const std::array<std::string_view, kColumnCount>& fields,
                   std::string_view amount) {
    for (size_t i = 0; i < kAmount; ++i) {
      AppendCsvField(&buffer_, fields[i]);
      buffer_ += ',';
    }
    buffer_ += amount;
    buffer_ += '\n';
  }

  const Catalog& catalog_;
  const PhoenixGenOptions& options_;
  std::ostream& out_;
  Random random_;
  PhoenixGenStats stats_;
  std::vector<Day> days_;
  std::vector<double> day_cumulative_;
  size_t fiscal_years_ = 0;
  size_t fiscal_months_ = 0;
  std::vector<std::string> spellings_;         // raw names
  std::vector<std::string> spelling_fields_;   // the same as CSV fields
  std::vector<uint32_t> vendor_spelling_;      // [vendor * fiscal_years_ + fiscal year]
  std::vector<uint32_t> department_spelling_;  // [department * fiscal_months_ + fiscal month]
  std::vector<std::string> item_fields_;       // per item, as a CSV field
  std::string buffer_;

  // Planted anomalies.
  struct Copy {
    size_t due_day = 0;  // index into days_
    uint32_t vendor = 0;
    uint16_t department = 0;
    uint16_t item = 0;
    int64_t cents = 0;
    uint64_t of_line = 0;
    std::string vendor_name;  // another spelling, or empty for the year's own
  };
  Random anomaly_random_;
  int fabricated_ = -1;
  uint64_t line_ = 1;  // the header
  uint64_t next_extreme_row_ = UINT64_MAX;
  uint64_t next_duplicate_row_ = UINT64_MAX;
  std::vector<Copy> pending_;
};

}  // namespace

std::string_view PhoenixHeader() { return kHeader; }

Result<PhoenixGenStats> GeneratePhoenix(const PhoenixGenOptions& options, std::ostream& out) {
  if (options.first_fiscal_year < 2000 || options.last_fiscal_year > 2100 ||
      options.first_fiscal_year > options.last_fiscal_year) {
    return Fail(ErrorCode::kInvalidArgument,
                "fiscal years must satisfy 2000 <= first <= last <= 2100 (the years the "
                "phoenix-checkbook mapping loads), got " +
                    std::to_string(options.first_fiscal_year) + ".." +
                    std::to_string(options.last_fiscal_year));
  }
  // Written so that NaN fails too.
  if (!(options.dirt_rate >= 0.0 && options.dirt_rate <= 1.0)) {
    return Fail(ErrorCode::kInvalidArgument, "the dirt rate must be between 0 and 1");
  }
  if (!(options.bad_rate >= 0.0 && options.bad_rate <= 1.0)) {
    return Fail(ErrorCode::kInvalidArgument, "the bad-row rate must be between 0 and 1");
  }
  if (options.duplicates > options.rows / 10 || options.extremes > options.rows / 10) {
    return Fail(ErrorCode::kInvalidArgument,
                "at most one row in ten can carry a planted duplicate or extreme; ask for more "
                "rows or fewer anomalies");
  }
  const Result<Catalog>& catalog = SharedCatalog();
  if (!catalog) return Fail(catalog.error().WithContext("building the Phoenix vendor catalog"));
  int fabricated = -1;
  if (!options.fabricate_department.empty()) {
    std::string known;
    for (size_t d = 0; d < catalog->departments.size(); ++d) {
      if (EqualsIgnoreCase(catalog->departments[d], Trim(options.fabricate_department)))
        fabricated = static_cast<int>(d);
      known += (known.empty() ? "" : ", ") + catalog->departments[d];
    }
    if (fabricated < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--fabricate-department '" + options.fabricate_department +
                      "' is not a Phoenix department; use one of " + known);
    }
  }
  PhoenixWriter writer(*catalog, options, fabricated, out);
  return writer.Run();
}

}  // namespace citybooks
