#include "dsiem/tools/nesd.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "dsiem/common/ip.h"
#include "dsiem/common/log.h"
#include "dsiem/common/text.h"
#include "dsiem/config/directive.h"
#include "dsiem/http/server.h"
#include "dsiem/http/util.h"
#include "dsiem/json/go_writer.h"
#include "dsiem/tools/tool_cli.h"

#ifndef DSIEM_VERSION
#define DSIEM_VERSION ""
#endif

namespace dsiem::tools {

namespace {

constexpr std::string_view kErrBareQuote = "bare \" in non-quoted-field";
constexpr std::string_view kErrQuote = "extraneous or missing \" in quoted-field";

// Go's csv.ParseError and its Error() text.
struct CsvParseError {
  int start_line = 0;
  int line = 0;
  int column = 0;
  std::string what;
  bool field_count = false;

  std::string text() const {
    if (field_count) return "record on line " + std::to_string(line) + ": wrong number of fields";
    std::string s;
    if (start_line != line) s = "record on line " + std::to_string(start_line) + "; ";
    return s + "parse error on line " + std::to_string(line) + ", column " +
           std::to_string(column) + ": " + what;
  }
};

// Go's encoding/csv Reader with default settings (comma ',', strict quotes, no comments,
// FieldsPerRecord taken from the first record), as gocsv's ReadAll drives it. Columns in errors
// are 1-based byte positions (Go 1.17 and later).
class GoCsvReader {
 public:
  explicit GoCsvReader(std::string_view text) : text_(text) {}

  // All records, or throws NessusCsvError with Go's error text.
  std::vector<std::vector<std::string>> read_all() {
    std::vector<std::vector<std::string>> records;
    std::vector<std::string> record;
    for (;;) {
      std::optional<CsvParseError> error;
      if (!read_record(record, error)) return records;
      if (error) throw NessusCsvError(error->text());
      if (!expected_fields_) {
        expected_fields_ = record.size();
      } else if (record.size() != *expected_fields_) {
        throw NessusCsvError(
            CsvParseError{record_line_, record_line_, 1, "", /*field_count=*/true}.text());
      }
      records.push_back(record);
    }
  }

 private:
  // Reader.readLine: one line with its '\n' ("\r\n" normalised to "\n", a '\r' right before
  // EOF dropped). Counts the line even at EOF; returns false when nothing was left.
  bool read_line(std::string& line) {
    ++num_line_;
    line.clear();
    if (pos_ >= text_.size()) return false;
    const size_t nl = text_.find('\n', pos_);
    if (nl == std::string_view::npos) {
      line.assign(text_.substr(pos_));
      pos_ = text_.size();
      if (line.back() == '\r') line.pop_back();
    } else {
      line.assign(text_.substr(pos_, nl + 1 - pos_));
      pos_ = nl + 1;
      if (line.size() >= 2 && line[line.size() - 2] == '\r') line.erase(line.size() - 2, 1);
    }
    return true;
  }

  static size_t length_nl(std::string_view s) { return !s.empty() && s.back() == '\n' ? 1 : 0; }

  // Reader.readRecord. Returns false at EOF (no record); sets `error` on a syntax error.
  bool read_record(std::vector<std::string>& fields, std::optional<CsvParseError>& error) {
    fields.clear();
    std::string line;
    for (;;) {
      if (!read_line(line)) return false;
      if (line.size() != length_nl(line)) break;  // empty lines are skipped
    }
    record_line_ = num_line_;
    int pos_line = num_line_;
    int col = 1;
    size_t i = 0;
    for (;;) {
      if (i >= line.size() || line[i] != '"') {
        const size_t comma = line.find(',', i);
        const size_t end = comma != std::string::npos ? comma : line.size() - length_nl(line);
        const size_t quote = line.find('"', i);
        if (quote != std::string::npos && quote < end) {
          error = CsvParseError{record_line_, num_line_, col + static_cast<int>(quote - i),
                                std::string(kErrBareQuote)};
          return true;
        }
        fields.push_back(line.substr(i, end - i));
        if (comma == std::string::npos) return true;
        col += static_cast<int>(comma + 1 - i);
        i = comma + 1;
        continue;
      }
      // Quoted field: may span lines; `""` is a literal quote.
      std::string field;
      ++i;
      ++col;
      for (;;) {
        const size_t quote = line.find('"', i);
        if (quote != std::string::npos) {
          field.append(line, i, quote - i);
          col += static_cast<int>(quote + 1 - i);
          i = quote + 1;
          if (i < line.size() && line[i] == '"') {
            field.push_back('"');
            ++i;
            ++col;
          } else if (i < line.size() && line[i] == ',') {
            ++i;
            ++col;
            fields.push_back(std::move(field));
            break;
          } else if (line.size() - i == length_nl(std::string_view(line).substr(i))) {
            fields.push_back(std::move(field));
            return true;
          } else {
            error = CsvParseError{record_line_, num_line_, col - 1, std::string(kErrQuote)};
            return true;
          }
        } else if (i < line.size()) {
          field.append(line, i);
          col += static_cast<int>(line.size() - i);
          read_line(line);
          i = 0;
          if (!line.empty()) {
            ++pos_line;
            col = 1;
          }
        } else {
          // The input ended inside the quoted field.
          error = CsvParseError{record_line_, pos_line, col, std::string(kErrQuote)};
          return true;
        }
      }
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  int num_line_ = 0;
  int record_line_ = 0;
  std::optional<size_t> expected_fields_;
};

// strconv.ParseInt(s, 10, 64): an optional sign and decimal digits only.
std::optional<int64_t> parse_decimal(std::string_view s, std::string* error) {
  const auto fail = [&](const char* why) -> std::optional<int64_t> {
    if (error) *error = "strconv.ParseInt: parsing " + go_quote(s) + ": " + why;
    return std::nullopt;
  };
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) digits.remove_prefix(1);
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail("invalid syntax");
  }
  // Parse with the sign so that the most negative value fits.
  const std::string_view number = s[0] == '+' ? s.substr(1) : s;
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size()) return fail("value out of range");
  return value;
}

// strconv.ParseFloat(s, 64) acceptance: decimal or exponent form, inf/infinity/nan.
std::optional<double> parse_float(std::string_view s, std::string* error) {
  const auto fail = [&](const char* why) -> std::optional<double> {
    if (error) *error = "strconv.ParseFloat: parsing " + go_quote(s) + ": " + why;
    return std::nullopt;
  };
  // from_chars takes no leading '+' but takes "nan(...)", which Go rejects.
  std::string_view body = s;
  if (!body.empty() && body[0] == '+') body.remove_prefix(1);
  if (body.empty() || body[0] == '+' || (body[0] == '-' && s[0] == '+') ||
      body.find('(') != std::string_view::npos) {
    return fail("invalid syntax");
  }
  double value = 0;
  const auto [ptr, ec] =
      std::from_chars(body.data(), body.data() + body.size(), value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) return fail("value out of range");
  if (ec != std::errc() || ptr != body.data() + body.size()) return fail("invalid syntax");
  return value;
}

enum class Column { kPluginId, kCve, kCvss, kRisk, kHost, kProtocol, kPort, kName, kUnused };

Column column_of(std::string_view header) {
  static constexpr std::array<std::pair<std::string_view, Column>, 13> kColumns = {{
      {"Plugin ID", Column::kPluginId},
      {"CVE", Column::kCve},
      {"CVSS", Column::kCvss},
      {"Risk", Column::kRisk},
      {"Host", Column::kHost},
      {"Protocol", Column::kProtocol},
      {"Port", Column::kPort},
      {"Name", Column::kName},
      {"Synopsis", Column::kUnused},
      {"Description", Column::kUnused},
      {"Solution", Column::kUnused},
      {"See Also", Column::kUnused},
      {"Plugin Output", Column::kUnused},
  }};
  const std::string trimmed = trim_space(header);
  for (const auto& [name, column] : kColumns) {
    if (header == name || trimmed == name) return column;
  }
  return Column::kUnused;
}

// gocsv's field assignment: strings verbatim, numbers trimmed with "" meaning 0.
void set_field(NessusEntry& e, Column column, const std::string& value, std::string* error) {
  const auto set_int = [&](int64_t& field) {
    const std::string t = trim_space(value);
    if (t.empty()) {
      field = 0;
    } else if (auto n = parse_decimal(t, error)) {
      field = *n;
    }
  };
  switch (column) {
    case Column::kPluginId:
      set_int(e.plugin_id);
      break;
    case Column::kPort:
      set_int(e.port);
      break;
    case Column::kCvss: {
      const std::string t = trim_space(value);
      if (t.empty()) {
        e.cvss = 0;
      } else if (auto f = parse_float(t, error)) {
        e.cvss = *f;
      }
      break;
    }
    case Column::kCve:
      e.cve = value;
      break;
    case Column::kRisk:
      e.risk = value;
      break;
    case Column::kHost:
      e.host = value;
      break;
    case Column::kProtocol:
      e.protocol = value;
      break;
    case Column::kName:
      e.name = value;
      break;
    case Column::kUnused:
      break;
  }
}

// The query value with every CR and LF removed (they would forge log lines).
std::string query_param(std::string_view query, std::string_view key) {
  std::string v = http::query_value(query, key);
  v.erase(std::remove_if(v.begin(), v.end(), [](char c) { return c == '\r' || c == '\n'; }),
          v.end());
  return v;
}

http::Response text_error(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

// The matches as Go's json.MarshalIndent(rows, "", "  ") writes []{cve, risk, name}.
std::string matches_json(const std::vector<const NessusEntry*>& rows) {
  std::string compact = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) compact.push_back(',');
    compact.push_back('{');
    json::append_key(compact, "cve");
    json::append_string(compact, rows[i]->cve);
    compact.push_back(',');
    json::append_key(compact, "risk");
    json::append_string(compact, rows[i]->risk);
    compact.push_back(',');
    json::append_key(compact, "name");
    json::append_string(compact, rows[i]->name);
    compact.push_back('}');
  }
  compact.push_back(']');
  return json::indent(compact);
}

std::string host_port(const std::string& address, int64_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

int serve(const ToolValues& values, std::ostream& out) {
  const std::string csv_dir = values.text("csvdir");
  if (csv_dir.empty()) return exit_fatal(out, "wrong startup parameter", "csvdir cannot be empty");
  log::setup(values.boolean("debug"));
  log::info("Starting nesd " DSIEM_VERSION);

  auto index = std::make_shared<NessusIndex>();
  try {
    *index = load_nessus_dir(csv_dir);
  } catch (const NessusCsvError& e) {
    log::flush();
    return exit_fatal(out, "Cannot read Nessus CSV from " + csv_dir, e.what());
  }
  log::info("Loaded " + std::to_string(index->entries.size()) + " scan entries.");

  const std::string address = values.text("address");
  const int64_t port = values.integer("port");
  std::string invalid;
  if (!IpAddress::parse(address)) invalid = address + " is not a valid IP address";
  if (port < 1 || port > 65535) invalid = "Invalid TCP port number";
  if (!invalid.empty()) {
    log::flush();
    return exit_fatal(out, "Cannot start server", invalid);
  }
  log::info("Server listening on " + host_port(address, port));

  // Blocked before the server threads exist, so that they inherit the mask and the signals
  // reach only the sigwait() below.
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  int code = 0;
  {
    http::ServerOptions options;
    options.address = address;
    options.port = static_cast<uint16_t>(port);
    http::Server server(options, make_nesd_router(index));
    try {
      server.start();
      int sig = 0;
      while (sigwait(&signals, &sig) != 0) {
      }
      log::info(std::string("Received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
      server.stop();
    } catch (const std::exception& e) {
      log::flush();
      code = exit_fatal(out, "Cannot start server", e.what());
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  log::flush();
  return code;
}

}  // namespace

std::vector<const NessusEntry*> NessusIndex::find(std::string_view host, int64_t port) const {
  std::vector<const NessusEntry*> found;
  for (const auto& e : entries) {
    if (e.port == port && e.host == host) found.push_back(&e);
  }
  return found;
}

std::vector<NessusEntry> parse_nessus_csv(std::string_view text) {
  const auto records = GoCsvReader(text).read_all();
  if (records.empty()) throw NessusCsvError("empty csv file given");
  std::vector<Column> columns;
  for (const auto& header : records[0]) columns.push_back(column_of(header));

  std::vector<NessusEntry> entries;
  entries.reserve(records.size() - 1);
  for (size_t row = 1; row < records.size(); ++row) {
    NessusEntry e;
    for (size_t col = 0; col < records[row].size(); ++col) {
      std::string error;
      set_field(e, columns[col], records[row][col], &error);
      if (!error.empty()) {
        // gocsv reports the record number (header = 1) and the 1-based column.
        throw NessusCsvError(
            CsvParseError{0, static_cast<int>(row + 1), static_cast<int>(col + 1), error}.text());
      }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

NessusIndex load_nessus_dir(const std::filesystem::path& csv_dir) {
  NessusIndex index;
  for (const auto& file : config::glob_files(csv_dir, "nessus_*.csv")) {
    std::ifstream in(file, std::ios::binary);
    if (!in) continue;
    std::stringstream buf;
    buf << in.rdbuf();
    if (in.bad()) continue;
    auto rows = parse_nessus_csv(buf.str());
    std::move(rows.begin(), rows.end(), std::back_inserter(index.entries));
  }
  if (index.entries.empty()) {
    throw NessusCsvError("cannot find valid nessus scan results to load from " + csv_dir.string());
  }
  return index;
}

http::Response answer_nesd_query(const NessusIndex& index, std::string_view query) {
  const std::string ip = query_param(query, "ip");
  const std::string port_text = query_param(query, "port");
  if (ip.empty() || port_text.empty()) {
    log::info("returning 400-1");
    return text_error(400, "requires ip and port parameter\n");
  }
  if (!IpAddress::parse(ip)) {
    log::info("returning 418-1, provided address: " + ip);
    return text_error(418, "ip parameter only accept... ip address\n");
  }
  const auto port = parse_decimal(port_text, nullptr);
  if (!port || *port < 1 || *port > 65535) {
    log::info("returning 418-2");
    return text_error(418, "port parameter only accept... valid port number\n");
  }
  const std::string target = ip + ":" + port_text;
  log::info("Incoming query for " + target);

  const auto rows = index.find(ip, *port);
  http::Response res;
  if (rows.empty()) {
    log::debug("No vulnerability found for " + target);
    res.body = "no vulnerability found\n";
    return res;
  }
  for (const NessusEntry* e : rows) {
    log::debug("Found match: " + e->risk + " - " + e->name + " - " + e->cve);
  }
  res.body = matches_json(rows);
  log::info("Returning " + std::to_string(rows.size()) + " positive result for " + target);
  return res;
}

std::shared_ptr<const http::Router> make_nesd_router(std::shared_ptr<const NessusIndex> index) {
  auto router = std::make_shared<http::Router>();
  router->add("GET", "/", [index](http::Request&& req, http::Responder respond) {
    respond(answer_nesd_query(*index, req.query));
  });
  return router;
}

int run_nesd(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ToolCommand serve_command{
      "serve",
      "Start the server",
      {
          {"address", 'a', FlagType::kString, "127.0.0.1", "IP address to listen on"},
          {"port", 'p', FlagType::kInt, "8081", "TCP port to listen on"},
          {"csvdir", 'd', FlagType::kString, "", "directory of Nessus CSV scan results"},
          {"debug", 0, FlagType::kBool, "false",
           "Enable debug messages for tracing and troubleshooting"},
      },
      [](const ToolValues& values, std::ostream& o, std::ostream&) { return serve(values, o); }};
  const ToolSpec spec{"nesd",
                      "NESD",
                      "Serve Nessus CSV scan results over HTTP, as the source of the Nesd "
                      "vulnerability lookup plugin",
                      {},
                      nullptr,
                      {serve_command}};
  return run_tool(spec, args, out, err);
}

}  // namespace dsiem::tools
