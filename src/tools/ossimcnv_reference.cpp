// The OSSIM reference tables of `dsiem ossimcnv` (tools.md §2.4): tab-separated dumps read
// with encoding/csv's rules, so that the same files load, and the same ones fail with the same
// message, as with the reference converter.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/common/text.h"
#include "dsiem/tools/ossimcnv.h"

namespace dsiem::tools::ossimcnv {

std::optional<int64_t> parse_decimal(std::string_view s, std::string_view func_name,
                                     std::string* error) {
  const auto fail = [&](std::string_view why) -> std::optional<int64_t> {
    if (error)
      *error = "strconv." + std::string(func_name) + ": parsing " + go_quote(s) + ": " +
               std::string(why);
    return std::nullopt;
  };
  std::size_t i = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return fail("invalid syntax");
  // Accumulate as a negative number so that the minimum int64 fits.
  int64_t value = 0;
  bool overflow = false;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return fail("invalid syntax");
    const int digit = s[i] - '0';
    if (value < (kMin + digit) / 10) {
      overflow = true;
    } else {
      value = value * 10 - digit;
    }
  }
  if (overflow || (!negative && value == kMin)) return fail("value out of range");
  return negative ? value : -value;
}

std::string errno_text(int error_number) {
  std::string text = std::strerror(error_number);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

std::optional<std::string> read_file_bytes(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error) *error = "open " + path + ": " + errno_text(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (error) *error = "read " + path + ": " + errno_text(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

namespace {

struct CsvError {
  std::string message;
};

// encoding/csv's Reader with Comma = '\t' and default settings (Go 1.19).
class TsvRecords {
 public:
  explicit TsvRecords(std::string_view text) : s_(text) {}

  // The next record, or nullopt at the end of the input. Throws CsvError.
  std::optional<std::vector<std::string>> next() {
    std::optional<std::string> line;
    for (;;) {
      line = read_line();
      if (!line) return std::nullopt;
      if (*line != "\n" && !line->empty()) break;  // empty lines are skipped
    }
    const int record_line = num_line_;
    int pos_line = num_line_;
    int col = 1;
    std::vector<std::string> fields;
    std::string_view rest = *line;
    std::string owned;  // the current line when a quoted field continues on the next ones
    const auto ends_with_newline = [](std::string_view l) {
      return !l.empty() && l.back() == '\n';
    };
    for (;;) {
      if (rest.empty() || rest[0] != '"') {
        const std::size_t tab = rest.find('\t');
        std::string_view field = rest.substr(0, tab);
        if (tab == std::string_view::npos) field.remove_suffix(ends_with_newline(field) ? 1 : 0);
        if (const std::size_t q = field.find('"'); q != std::string_view::npos) {
          throw_parse_error(record_line, num_line_, col + static_cast<int>(q),
                            "bare \" in non-quoted-field");
        }
        fields.emplace_back(field);
        if (tab == std::string_view::npos) break;
        rest.remove_prefix(tab + 1);
        col += static_cast<int>(tab) + 1;
        continue;
      }
      // Quoted field.
      rest.remove_prefix(1);
      col += 1;
      std::string value;
      bool field_done = false;
      while (!field_done) {
        const std::size_t q = rest.find('"');
        if (q != std::string_view::npos) {
          value.append(rest.substr(0, q));
          rest.remove_prefix(q + 1);
          col += static_cast<int>(q) + 1;
          if (!rest.empty() && rest[0] == '"') {
            value.push_back('"');
            rest.remove_prefix(1);
            col += 1;
          } else if (!rest.empty() && rest[0] == '\t') {
            rest.remove_prefix(1);
            col += 1;
            field_done = true;
          } else if (rest.empty() || rest == "\n") {
            fields.push_back(std::move(value));
            return fields_checked(std::move(fields), record_line);
          } else {
            throw_parse_error(record_line, num_line_, col - 1,
                              "extraneous or missing \" in quoted-field");
          }
        } else if (!rest.empty()) {
          value.append(rest);
          col += static_cast<int>(rest.size());
          std::optional<std::string> more = read_line();
          if (!more || more->empty()) {
            throw_parse_error(record_line, pos_line, col,
                              "extraneous or missing \" in quoted-field");
          }
          owned = std::move(*more);
          rest = owned;
          pos_line = num_line_;
          col = 1;
        } else {
          throw_parse_error(record_line, pos_line, col, "extraneous or missing \" in quoted-field");
        }
      }
      fields.push_back(std::move(value));
    }
    return fields_checked(std::move(fields), record_line);
  }

 private:
  // One line with its "\n" ("\r\n" becomes "\n"; a last line may lack it), or nullopt at the end.
  std::optional<std::string> read_line() {
    if (pos_ >= s_.size()) return std::nullopt;
    const std::size_t nl = s_.find('\n', pos_);
    std::string line;
    if (nl == std::string_view::npos) {
      line = s_.substr(pos_);
      pos_ = s_.size();
      if (line.back() == '\r') line.pop_back();
    } else {
      line = s_.substr(pos_, nl + 1 - pos_);
      pos_ = nl + 1;
    }
    ++num_line_;
    if (line.size() >= 2 && line[line.size() - 2] == '\r') line.erase(line.size() - 2, 1);
    return line;
  }

  std::vector<std::string> fields_checked(std::vector<std::string> fields, int record_line) {
    if (fields_per_record_ == 0) {
      fields_per_record_ = fields.size();
    } else if (fields.size() != fields_per_record_) {
      throw CsvError{"record on line " + std::to_string(record_line) + ": wrong number of fields"};
    }
    return fields;
  }

  [[noreturn]] static void throw_parse_error(int start_line, int line, int column,
                                             std::string_view what) {
    std::string message;
    if (start_line != line) message = "record on line " + std::to_string(start_line) + "; ";
    message += "parse error on line " + std::to_string(line) + ", column " +
               std::to_string(column) + ": " + std::string(what);
    throw CsvError{std::move(message)};
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int num_line_ = 0;
  std::size_t fields_per_record_ = 0;
};

std::string read_reference_file(const std::string& path) {
  std::string error;
  auto text = read_file_bytes(path, &error);
  if (!text) throw ReferenceError(error);
  return std::move(*text);
}

int64_t integer_field(const std::string& text) {
  if (text.empty()) return 0;
  std::string error;
  const auto value = parse_decimal(text, "ParseInt", &error);
  if (!value) throw ReferenceError(error);
  return *value;
}

std::vector<NamedRow> named_rows(const std::string& path) {
  std::vector<NamedRow> rows;
  for (const auto& r : read_tsv_columns(read_reference_file(path), {"id", "name"}, path)) {
    rows.push_back({integer_field(r[0]), r[1]});
  }
  return rows;
}

}  // namespace

std::vector<std::vector<std::string>> read_tsv_columns(std::string_view text,
                                                       const std::vector<std::string>& columns,
                                                       std::string_view file) {
  TsvRecords records(text);
  std::vector<std::vector<std::string>> all;
  try {
    for (auto record = records.next(); record; record = records.next()) {
      all.push_back(std::move(*record));
    }
  } catch (const CsvError& e) {
    throw ReferenceError(e.message);
  }
  if (all.empty()) {
    throw ReferenceError(std::string(file) +
                         " is empty: a header line naming the columns is expected");
  }
  const std::vector<std::string>& header = all.front();
  std::vector<std::size_t> index;
  for (const std::string& column : columns) {
    std::size_t found = header.size();
    for (std::size_t i = 0; i < header.size() && found == header.size(); ++i) {
      if (header[i] == column) found = i;
    }
    if (found == header.size()) {
      throw ReferenceError(std::string(file) + ": the header line has no \"" + column +
                           "\" column");
    }
    index.push_back(found);
  }
  std::vector<std::vector<std::string>> rows;
  for (std::size_t r = 1; r < all.size(); ++r) {
    std::vector<std::string> row;
    for (std::size_t i : index) row.push_back(std::move(all[r][i]));
    rows.push_back(std::move(row));
  }
  return rows;
}

ReferenceTables load_reference_tables(const std::filesystem::path& refdir) {
  const auto path_of = [&](std::string_view name) {
    return (refdir / name).lexically_normal().string();
  };
  const std::string product_type = path_of("ossim_product_type.tsv");
  const std::string product_category = path_of("ossim_product_category.tsv");
  const std::string product_subcategory = path_of("ossim_product_subcategory.tsv");
  const std::string taxonomy = path_of("ossim_alarm_taxonomy.tsv");
  const std::string kingdom = path_of("ossim_alarm_kingdom.tsv");
  const std::string category = path_of("ossim_alarm_category.tsv");
  for (const std::string* p :
       {&product_type, &product_category, &product_subcategory, &taxonomy, &kingdom, &category}) {
    std::error_code ec;
    if (!std::filesystem::exists(*p, ec)) throw ReferenceError(*p + " doesnt exist.");
  }

  ReferenceTables t;
  for (const auto& r :
       read_tsv_columns(read_reference_file(taxonomy), {"sid", "kingdom", "category"}, taxonomy)) {
    t.taxonomy.push_back({integer_field(r[0]), integer_field(r[1]), integer_field(r[2])});
  }
  t.alarm_categories = named_rows(category);
  t.kingdoms = named_rows(kingdom);
  t.product_types = named_rows(product_type);
  t.product_categories = named_rows(product_category);
  for (const auto& r : read_tsv_columns(read_reference_file(product_subcategory),
                                        {"id", "cat_id", "name"}, product_subcategory)) {
    t.product_subcategories.push_back({integer_field(r[0]), integer_field(r[1]), r[2]});
  }
  return t;
}

}  // namespace dsiem::tools::ossimcnv
