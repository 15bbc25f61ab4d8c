#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsiem/alarm/alarm.h"
#include "dsiem/config/lookup_sources.h"

// The intel and vuln plugins (assets_and_intel.md §5.3, §6.3). Every configured source gets
// its own checker with its own URL template (decisions.md §4). A check either returns its
// results (empty: not found) or throws std::runtime_error: network errors, timeouts, non-2xx
// answers and malformed bodies are all failures (gaps_and_weaknesses.md C1).
namespace dsiem::enrich {

class IntelChecker {
 public:
  virtual ~IntelChecker() = default;
  // The plugin name, as in the WARN `Error received from intel checker <plugin>: <err>`.
  virtual const std::string& plugin() const = 0;
  virtual std::vector<alarm::LookupResult> check(const std::string& ip) const = 0;
};

class VulnChecker {
 public:
  virtual ~VulnChecker() = default;
  virtual const std::string& plugin() const = 0;
  virtual std::vector<alarm::LookupResult> check(const std::string& ip, int64_t port) const = 0;
};

// Intel plugin "Wise": GET the template with `${ip}` filled in; the body is a WISE literal.
class WiseChecker final : public IntelChecker {
 public:
  WiseChecker(std::string url_template, std::chrono::milliseconds timeout);
  const std::string& plugin() const override;
  std::vector<alarm::LookupResult> check(const std::string& ip) const override;

 private:
  std::string url_template_;
  std::chrono::milliseconds timeout_;
};

// Vuln plugin "Nesd": GET the template with `${ip}` and `${port}` filled in; the body is the
// nesd server's answer.
class NesdChecker final : public VulnChecker {
 public:
  NesdChecker(std::string url_template, std::chrono::milliseconds timeout);
  const std::string& plugin() const override;
  std::vector<alarm::LookupResult> check(const std::string& ip, int64_t port) const override;

 private:
  std::string url_template_;
  std::chrono::milliseconds timeout_;
};

// The checker of `source.plugin` configured with `source.url`, or nullptr for an unknown plugin.
std::unique_ptr<IntelChecker> make_intel_checker(const config::LookupSource& source,
                                                 std::chrono::milliseconds timeout);
std::unique_ptr<VulnChecker> make_vuln_checker(const config::LookupSource& source,
                                               std::chrono::milliseconds timeout);

// `url_template` with its first `placeholder` replaced by `value`, percent-encoded (every byte
// except ASCII letters, digits and "-._~"), so that a value can never change the URL's shape.
std::string fill_url_template(std::string_view url_template, std::string_view placeholder,
                              std::string_view value);

// The results of a Wise answer for `ip`: `field:`, `len:` and `value:` quoted everywhere in the
// text, then decoded as [{"field","len","value"}] with Go's rules; one result
// "<field>: <value>" per element with len >= 5. Throws json::DecodeError on a malformed body.
std::vector<alarm::LookupResult> parse_wise_answer(std::string_view body, std::string_view ip);

// The results of a nesd answer for `term` ("<ip>:<port>"): none for exactly
// "no vulnerability found\n", otherwise [{"cve","risk","name"}] with one result
// "<risk> - <name>[ (<cve>)]" per Medium, High or Critical element. Throws json::DecodeError on a
// malformed body.
std::vector<alarm::LookupResult> parse_nesd_answer(std::string_view body, std::string_view term);

}  // namespace dsiem::enrich
