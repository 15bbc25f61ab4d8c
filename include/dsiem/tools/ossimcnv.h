#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// `dsiem ossimcnv`: converts an OSSIM directive file (user.xml) into a Dsiem directive file
// (tools.md §2). Output is byte-compatible with the reference ossimcnv; what the reference lost
// silently is reported per directive on stderr, and a directive that could not be converted
// makes the command exit 1 (decisions.md §10).
namespace dsiem::tools {

// Runs `dsiem ossimcnv <args>`: flags --in/-i, --out/-o, --refdir/-r, --split/-n, each also
// settable by OSSIMCNV_<FLAG>. Prints `Done.` (exit 0) or an `Exiting: ...` line (exit 1) on
// `out`; warnings and per-directive errors go to `err`.
int run_ossimcnv(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// run_ossimcnv reading the OSSIMCNV_* variables through `getenv_fn`.
int run_ossimcnv_with_env(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err,
                          const std::function<const char*(const char*)>& getenv_fn);

namespace ossimcnv {

// ---- XML subset reader -------------------------------------------------------------------
// Elements, attributes ('"' or '\'' quoted), the five predefined entities and numeric
// character references, comments, processing instructions (the `xml` declaration is checked
// for version 1.0 and a UTF-8 encoding), CDATA, and a skipped DOCTYPE. Strict like Go's
// encoding/xml decoder: the first syntax error stops reading.

struct XmlElement {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;  // entity-decoded, in order
  std::vector<XmlElement> children;                             // child elements only
  int line = 0;                                                 // line of the start tag
  bool complete = false;  // the end tag was read (or the tag was self-closing)

  // The last attribute called `name` (Go's decoder applies duplicates in order), or nullptr.
  const std::string* attribute(std::string_view name) const;
};

struct XmlDocument {
  // Top-level elements in document order. The first one is the root; later ones are content
  // after the root, which a Go decoder never reads (kept to report what is lost there).
  std::vector<XmlElement> elements;
  std::string error;  // the first syntax error; "" when everything was read
  int error_line = 0;
  bool error_after_root = false;  // the error lies after the root element had ended
};

// Parses `text`. When `implicit_root_at` is a byte offset at which no markup starts, an element
// named `implicit_root_name` is opened there and closed at the end of the input (or by a
// matching end tag), as if its tags had been written around the rest of the text.
XmlDocument parse_xml(std::string_view text, std::size_t implicit_root_at = std::string_view::npos,
                      std::string_view implicit_root_name = {});

// ---- Reference tables (tools.md §2.4) ---------------------------------------------------

// Go's strconv.ParseInt(s, 10, 64) (`func_name` "ParseInt") or strconv.Atoi ("Atoi"): an
// optional sign and decimal digits, nothing else. On failure sets `error` (if given) to Go's
// message, e.g. `strconv.Atoi: parsing "x": invalid syntax`.
std::optional<int64_t> parse_decimal(std::string_view s, std::string_view func_name,
                                     std::string* error = nullptr);

// A reference file that cannot be read or parsed; what() is the text after
// `Cannot parse ossim reference TSV from <refdir>: `.
class ReferenceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NamedRow {
  int64_t id = 0;
  std::string name;
};
struct SubcategoryRow {
  int64_t id = 0;
  int64_t cat_id = 0;
  std::string name;
};
struct TaxonomyRow {
  int64_t sid = 0;
  int64_t kingdom = 0;
  int64_t category = 0;
};

struct ReferenceTables {
  std::vector<NamedRow> product_types;                // ossim_product_type.tsv
  std::vector<NamedRow> product_categories;           // ossim_product_category.tsv
  std::vector<SubcategoryRow> product_subcategories;  // ossim_product_subcategory.tsv
  std::vector<TaxonomyRow> taxonomy;                  // ossim_alarm_taxonomy.tsv
  std::vector<NamedRow> kingdoms;                     // ossim_alarm_kingdom.tsv
  std::vector<NamedRow> alarm_categories;             // ossim_alarm_category.tsv
};

// The rows of a tab-separated dump with a header line (encoding/csv rules with a tab
// separator): each row holds the fields of `columns`, looked up by exact header name.
// `file` names the input in error messages. Throws ReferenceError.
std::vector<std::vector<std::string>> read_tsv_columns(std::string_view text,
                                                       const std::vector<std::string>& columns,
                                                       std::string_view file);

// Go's text for a failed system call: strerror in lower case ("permission denied").
std::string errno_text(int error_number);

// The bytes of a file; on failure nullopt, and `error` (if given) says, as Go does,
// `open <path>: <reason>` or `read <path>: <reason>`.
std::optional<std::string> read_file_bytes(const std::string& path, std::string* error = nullptr);

// Checks that the six files exist, then parses them. Throws ReferenceError.
ReferenceTables load_reference_tables(const std::filesystem::path& refdir);

// ---- Conversion (tools.md §2.3-2.7) -----------------------------------------------------

struct DsiemRule {
  int64_t stage = 0;
  std::string name;
  std::string type;  // "PluginRule" or "TaxonomyRule"
  int64_t plugin_id = 0;
  std::vector<int64_t> plugin_sid;
  std::string product_str;
  std::vector<std::string> product;
  std::string category;
  std::string subcategory_str;
  std::vector<std::string> subcategory;
  std::string sticky_different;
  int64_t occurrence = 0;
  std::string from;
  std::string to;
  std::string port_from;
  std::string port_to;
  int64_t reliability = 0;
  int64_t timeout = 0;
  std::string protocol;
};

struct DsiemDirective {
  int64_t id = 0;
  std::string name;
  int64_t priority = 0;
  std::string kingdom;
  std::string category;
  std::vector<DsiemRule> rules;
};

struct Conversion {
  std::vector<DsiemDirective> directives;  // in document order
  // Lossy conversions (dropped OR-branches, untranslatable values, ...), one line each, naming
  // the directive.
  std::vector<std::string> warnings;
  // Directives that are missing from `directives`, with the reason; not empty means exit 1.
  std::vector<std::string> errors;
};

// Converts the text of an OSSIM user.xml. `source` names the file in messages.
Conversion convert(std::string_view user_xml, const ReferenceTables& refs,
                   std::string_view source = "user.xml");

// The output document for `directives` (Go's MarshalIndent with two spaces, plus "\n").
// `null_when_empty` writes an empty list as `null`, as Go does for a nil slice.
std::string render(std::span<const DsiemDirective> directives, bool null_when_empty);

// The name of output file `i` (1..n) for `--out` and `--split n`: `out` itself when n is 1;
// otherwise `out` with every ".json" removed and "_<i>.json" appended.
std::string split_file_name(const std::string& out, int64_t n, int64_t i);

}  // namespace ossimcnv
}  // namespace dsiem::tools
