#include "dsiem/enrich/checkers.h"

#include <array>
#include <stdexcept>
#include <utility>

#include "dsiem/http/client.h"
#include "dsiem/json/go_reader.h"

namespace dsiem::enrich {

namespace {

const std::string kWise = "Wise";
const std::string kNesd = "Nesd";

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// The body of a 2xx answer to GET `url`; anything else throws.
std::string fetch(const std::string& url, std::chrono::milliseconds timeout) {
  http::ClientResponse response = http::get(url, timeout);
  if (response.status < 200 || response.status > 299) {
    throw std::runtime_error("GET " + url + ": HTTP status " + std::to_string(response.status));
  }
  return std::move(response.body);
}

struct WiseElement {
  std::string field;
  int64_t len = 0;
  std::string value;
};

struct NesdElement {
  std::string cve;
  std::string risk;
  std::string name;
};

constexpr std::array<std::string_view, 3> kWiseFields = {"field", "len", "value"};
constexpr std::array<std::string_view, 3> kNesdFields = {"cve", "risk", "name"};

}  // namespace

std::string fill_url_template(std::string_view url_template, std::string_view placeholder,
                              std::string_view value) {
  std::string url(url_template);
  if (const auto pos = url.find(placeholder); pos != std::string::npos) {
    url.replace(pos, placeholder.size(), percent_encode(value));
  }
  return url;
}

std::vector<alarm::LookupResult> parse_wise_answer(std::string_view body, std::string_view ip) {
  std::string text(body);
  replace_all(text, "field:", "\"field\":");
  replace_all(text, "len:", "\"len\":");
  replace_all(text, "value:", "\"value\":");

  simdjson::dom::parser parser;
  std::vector<WiseElement> elements;
  json::read_array(json::parse(parser, text), elements, "", "[]wise.wiseResult",
                   [](simdjson::dom::element item, WiseElement& e) {
                     json::for_each_field(item, kWiseFields, "wise.wiseResult",
                                          [&](int index, simdjson::dom::element v) {
                                            switch (index) {
                                              case 0:
                                                json::read_string(v, e.field, "wiseResult.field");
                                                break;
                                              case 1:
                                                json::read_int(v, e.len, "wiseResult.len");
                                                break;
                                              default:
                                                json::read_string(v, e.value, "wiseResult.value");
                                            }
                                          });
                   });

  std::vector<alarm::LookupResult> results;
  for (const WiseElement& e : elements) {
    // Shorter values are WISE IDs and metadata, not findings.
    if (e.len < 5) continue;
    results.push_back({kWise, std::string(ip), e.field + ": " + e.value});
  }
  return results;
}

std::vector<alarm::LookupResult> parse_nesd_answer(std::string_view body, std::string_view term) {
  if (body == "no vulnerability found\n") return {};

  simdjson::dom::parser parser;
  std::vector<NesdElement> elements;
  json::read_array(json::parse(parser, body), elements, "", "[]nesd.nesdResult",
                   [](simdjson::dom::element item, NesdElement& e) {
                     json::for_each_field(item, kNesdFields, "nesd.nesdResult",
                                          [&](int index, simdjson::dom::element v) {
                                            switch (index) {
                                              case 0:
                                                json::read_string(v, e.cve, "nesdResult.cve");
                                                break;
                                              case 1:
                                                json::read_string(v, e.risk, "nesdResult.risk");
                                                break;
                                              default:
                                                json::read_string(v, e.name, "nesdResult.name");
                                            }
                                          });
                   });

  std::vector<alarm::LookupResult> results;
  for (const NesdElement& e : elements) {
    if (e.risk != "Medium" && e.risk != "High" && e.risk != "Critical") continue;
    std::string text = e.risk + " - " + e.name;
    if (!e.cve.empty()) text += " (" + e.cve + ")";
    results.push_back({kNesd, std::string(term), std::move(text)});
  }
  return results;
}

WiseChecker::WiseChecker(std::string url_template, std::chrono::milliseconds timeout)
    : url_template_(std::move(url_template)), timeout_(timeout) {}

const std::string& WiseChecker::plugin() const {
  return kWise;
}

std::vector<alarm::LookupResult> WiseChecker::check(const std::string& ip) const {
  return parse_wise_answer(fetch(fill_url_template(url_template_, "${ip}", ip), timeout_), ip);
}

NesdChecker::NesdChecker(std::string url_template, std::chrono::milliseconds timeout)
    : url_template_(std::move(url_template)), timeout_(timeout) {}

const std::string& NesdChecker::plugin() const {
  return kNesd;
}

std::vector<alarm::LookupResult> NesdChecker::check(const std::string& ip, int64_t port) const {
  const std::string port_text = std::to_string(port);
  const std::string url =
      fill_url_template(fill_url_template(url_template_, "${ip}", ip), "${port}", port_text);
  return parse_nesd_answer(fetch(url, timeout_), ip + ":" + port_text);
}

std::unique_ptr<IntelChecker> make_intel_checker(const config::LookupSource& source,
                                                 std::chrono::milliseconds timeout) {
  if (source.plugin == kWise) return std::make_unique<WiseChecker>(source.url, timeout);
  return nullptr;
}

std::unique_ptr<VulnChecker> make_vuln_checker(const config::LookupSource& source,
                                               std::chrono::milliseconds timeout) {
  if (source.plugin == kNesd) return std::make_unique<NesdChecker>(source.url, timeout);
  return nullptr;
}

}  // namespace dsiem::enrich
