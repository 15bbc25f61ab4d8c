#include "dsiem/http/config_routes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <system_error>
#include <vector>

#include "dsiem/http/util.h"
#include "dsiem/json/go_writer.h"

namespace dsiem::http {

namespace {

constexpr std::string_view kBadNameGet =
    "Not a valid filename, should be in any_N4m3-that_you_want.json format\n";
// The reference words the upload answer differently; kept byte for byte.
constexpr std::string_view kBadNamePost =
    "Not a valid filename, should be in any_N4m3_you_want.json format\n";

Response text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Length of the UTF-8 code point ending at the end of `s` as Go decodes it (an invalid byte
// counts as one character).
std::size_t last_char_len(std::string_view s) {
  std::size_t n = s.size();
  for (std::size_t len = 2; len <= 4 && len <= n; ++len) {
    auto lead = static_cast<unsigned char>(s[n - len]);
    bool conts = true;
    for (std::size_t k = n - len + 1; k < n; ++k) {
      conts = conts && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80;
    }
    if (!conts) break;
    if ((lead & 0xC0) == 0x80) continue;  // still inside the sequence: look further back
    // A lead byte: accept it only when it announces exactly `len` bytes and decodes validly.
    std::size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (want != len || lead < 0xC2 || lead > 0xF4) break;
    uint32_t cp = lead & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (std::size_t k = n - len + 1; k < n; ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(s[k]) & 0x3F);
    }
    uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) break;
    return len;
  }
  return 1;
}

// Go's encoding/json folds keys with Unicode simple folding: besides ASCII case, 'ſ' (U+017F)
// matches 's' and the Kelvin sign (U+212A) matches 'k'.
bool go_key_equal_fold(std::string_view key, std::string_view name) {
  std::size_t i = 0;
  for (char want : name) {
    if (i >= key.size()) return false;
    char c = key[i];
    if (want == 's' && key.substr(i, 2) == "\xC5\xBF") {
      i += 2;
      continue;
    }
    if (want == 'k' && key.substr(i, 3) == "\xE2\x84\xAA") {
      i += 3;
      continue;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != want) return false;
    ++i;
  }
  return i == key.size();
}

std::string_view go_kind(simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::ARRAY:
      return "array";
    case simdjson::dom::element_type::OBJECT:
      return "object";
    case simdjson::dom::element_type::STRING:
      return "string";
    case simdjson::dom::element_type::BOOL:
      return "bool";
    default:
      return "number";
  }
}

struct ContentRule {
  std::string_view prefix;
  std::string_view key;        // JSON key of the array
  std::string_view go_type;    // the Go struct decoded into
  std::string_view go_struct;  // its unqualified name
  std::string_view go_elem;    // the element type of the array
};

constexpr ContentRule kRules[] = {
    {"assets_", "assets", "asset.NetworkAssets", "NetworkAssets", "asset.NetworkAsset"},
    {"directives_", "directives", "siem.Directives", "Directives", "siem.Directive"},
    {"intel_", "intel_sources", "xcorrelator.IntelSources", "IntelSources",
     "xcorrelator.IntelSource"},
    {"vuln_", "vuln_sources", "xcorrelator.VulnSources", "VulnSources", "xcorrelator.VulnSource"},
};

// Full path of `name` in `dir`, or nullopt when the name cannot be a file name (a NUL byte
// would silently truncate the path handed to the C library).
std::optional<std::string> file_in(const std::filesystem::path& dir, const std::string& name) {
  if (name.find('\0') != std::string::npos) return std::nullopt;
  return (dir / name).string();
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void handle_list(const std::filesystem::path& dir, Responder& respond) {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return respond(text(500, "Error reading config directory"));
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return respond(text(500, "Error reading config directory"));
  std::sort(names.begin(), names.end());
  // Go's json.MarshalIndent(v, "", "  ") of {"files":[{"filename":...}]}, nil slice → null.
  std::string compact = "{\"files\":";
  if (names.empty()) {
    compact += "null";
  } else {
    compact += '[';
    for (std::size_t i = 0; i < names.size(); ++i) {
      compact += i ? ",{" : "{";
      json::append_key(compact, "filename");
      json::append_string(compact, names[i]);
      compact += '}';
    }
    compact += ']';
  }
  compact += '}';
  std::string body = json::indent(compact);
  respond(text(200, std::move(body)));
}

void handle_download(const std::filesystem::path& dir, const std::string& name,
                     Responder& respond) {
  if (!is_valid_config_filename(name)) return respond(text(418, std::string(kBadNameGet)));
  auto path = file_in(dir, name);
  int fd = path ? ::open(path->c_str(), O_RDONLY | O_CLOEXEC) : -1;
  if (fd < 0) return respond(text(400, "cannot open " + name));
  std::string content;
  char buf[65536];
  bool ok = true;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!ok) return respond(text(500, "cannot read " + name));
  respond(text(200, std::move(content)));
}

void handle_upload(const std::filesystem::path& dir, const std::string& name,
                   const std::string& body, Responder& respond) {
  static std::atomic<uint64_t> counter{0};
  if (!is_valid_config_filename(name)) return respond(text(418, std::string(kBadNamePost)));
  if (auto err = check_config_content(name, body)) {
    return respond(text(418, "Invalid content detected, parsing error message is: " + *err + "\n"));
  }
  auto target = file_in(dir, name);
  if (!target) return respond(text(500, "Cannot open target file location\n"));
  std::string tmp = (dir / ("." + name + ".tmp." + std::to_string(::getpid()) + "." +
                            std::to_string(counter.fetch_add(1))))
                        .string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return respond(text(500, "Cannot open target file location\n"));
  bool ok = write_all(fd, body) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    return respond(text(500, "Cannot write to target file location\n"));
  }
  if (::rename(tmp.c_str(), target->c_str()) != 0) {
    // E.g. the target is a directory: the reference fails to open it for writing.
    ::unlink(tmp.c_str());
    return respond(text(500, "Cannot open target file location\n"));
  }
  respond(text(201, "File " + name + " uploaded successfully\n"));
}

void handle_delete(const std::filesystem::path& dir, const std::string& name, Responder& respond) {
  if (!is_valid_config_filename(name)) return respond(text(418, std::string(kBadNameGet)));
  auto path = file_in(dir, name);
  // Like Go's os.Remove: a file, or else an empty directory.
  bool removed = path && (::unlink(path->c_str()) == 0 || ::rmdir(path->c_str()) == 0);
  if (!removed) return respond(text(400, "cannot delete " + name));
  respond(text(200, ""));
}

}  // namespace

bool is_valid_config_filename(std::string_view name) {
  constexpr std::string_view kSuffix = "json";
  if (name.size() <= kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return false;
  }
  std::string_view head = name.substr(0, name.size() - kSuffix.size());
  // head = [alnum] [alnum_-]* <any char but '\n'>; the middle class is ASCII, so the final
  // "any" character is the last code point of head.
  std::size_t any_len = last_char_len(head);
  if (head.size() < any_len + 1 || !is_alnum(head.front())) return false;
  if (any_len == 1 && head.back() == '\n') return false;
  std::string_view middle = head.substr(1, head.size() - any_len - 1);
  return std::all_of(middle.begin(), middle.end(),
                     [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
}

std::optional<std::string> check_config_content(std::string_view filename, std::string_view body) {
  const ContentRule* rule = nullptr;
  for (const auto& r : kRules) {
    if (filename.substr(0, r.prefix.size()) == r.prefix) {
      rule = &r;
      break;
    }
  }
  if (!rule) return std::nullopt;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return std::string("unexpected end of JSON input");
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded(body);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root)) return std::string(simdjson::error_message(err));

  std::string type_error;
  auto mismatch = [&](simdjson::dom::element v, std::string_view where) {
    if (type_error.empty()) {
      type_error =
          "json: cannot unmarshal " + std::string(go_kind(v)) + " into " + std::string(where);
    }
  };
  if (root.is_null()) return std::string("content doesn't have a valid entry");
  if (!root.is_object()) {
    mismatch(root, "Go value of type " + std::string(rule->go_type));
    return type_error;
  }
  std::string field =
      "Go struct field " + std::string(rule->go_struct) + "." + std::string(rule->key);
  // Go decodes every matching key in order (the last one wins) and reports the first type
  // error at the end.
  std::size_t entries = 0;
  for (auto [key, value] : simdjson::dom::object(root)) {
    if (!go_key_equal_fold(key, rule->key)) continue;
    if (value.is_null()) {
      entries = 0;
    } else if (!value.is_array()) {
      mismatch(value, field + " of type []" + std::string(rule->go_elem));
    } else {
      simdjson::dom::array arr = value;
      entries = 0;
      for (auto item : arr) {
        if (!item.is_object() && !item.is_null()) {
          mismatch(item, field + " of type " + std::string(rule->go_elem));
        }
        ++entries;
      }
    }
  }
  if (!type_error.empty()) return type_error;
  if (entries == 0) return std::string("content doesn't have a valid entry");
  return std::nullopt;
}

void add_config_routes(Router& router, std::filesystem::path configs_dir, bool writeable) {
  auto dir = std::make_shared<const std::filesystem::path>(std::move(configs_dir));
  router.add("GET", "/config/",
             [dir](Request&&, Responder respond) { handle_list(*dir, respond); });
  router.add("GET", "/config/{filename}", [dir](Request&& req, Responder respond) {
    handle_download(*dir, req.params["filename"], respond);
  });
  if (!writeable) return;
  router.add("POST", "/config/{filename}", [dir](Request&& req, Responder respond) {
    handle_upload(*dir, req.params["filename"], req.body, respond);
  });
  router.add("DELETE", "/config/{filename}", [dir](Request&& req, Responder respond) {
    handle_delete(*dir, req.params["filename"], respond);
  });
}

}  // namespace dsiem::http
