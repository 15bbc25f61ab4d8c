// `dsiem dtester`: command line, directive loading and the fbeat mode (tools.md §1).

#include "dsiem/tools/dtester.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <random>

#include "dsiem/common/log.h"
#include "dsiem/tools/tool_cli.h"

namespace dsiem::tools {

namespace {

using GetEnv = std::function<const char*(const char*)>;

// The title of every event in dsiem mode (tools.md §1.3).
constexpr std::string_view kDsiemModeTitle = "Dtester event";

// Go spells system errors in lower case ("no such file or directory").
std::string error_text(int errnum) {
  std::string s = std::strerror(errnum);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

std::string now_rfc3339() {
  return rfc3339_utc(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
}

uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// tools.md §1.2: the glob is resolved against the working directory (or is absolute), with the
// engine's own loader and validator. Throws with the error text of the `Exiting:` line.
std::vector<config::Directive> load_directives(const std::string& glob) {
  const std::filesystem::path pattern(glob);
  std::filesystem::path dir = pattern.parent_path();
  if (dir.empty()) dir = ".";
  config::DirectiveSet set = config::load_directives(dir, pattern.filename().string());
  if (set.directives.empty()) throw config::ConfigError("no directive loaded from the file");
  return std::move(set.directives);
}

// Tells the user which stages the generated events will probably not complete.
void report_problems(const DirectiveEvents& events) {
  for (const std::string& problem : events.problems) {
    log::warn("Directive " + std::to_string(events.directive_id) + " " + problem,
              {.directive = events.directive_id});
  }
}

// A value that exists as a flag only in dsiem mode: fbeat reads it from the environment.
std::string env_or(const GetEnv& getenv_fn, const char* name, std::string fallback) {
  const char* v = getenv_fn(name);
  return v && *v ? std::string(v) : std::move(fallback);
}

int run_fbeat(const ToolValues& values, std::ostream& out, const GetEnv& getenv_fn) {
  GenerationOptions options;
  options.home_net = env_or(getenv_fn, "DTESTER_HOMENET", options.home_net);
  options.src_ip = env_or(getenv_fn, "DTESTER_SRCIP", "");
  options.dst_ip = env_or(getenv_fn, "DTESTER_DESTIP", "");
  options.max_per_rule = values.integer("max");
  const std::string logfile = values.text("logfile");
  const bool verbose = values.boolean("verbose");

  log::setup(true);
  std::vector<config::Directive> directives;
  try {
    directives = load_directives(values.text("file"));
  } catch (const std::exception& e) {
    return exit_fatal(out, "Cannot initialize directives", e.what());
  }
  EventGenerator generator(options, random_seed());
  for (const config::Directive& d : directives) {
    DirectiveEvents events = generator.generate(d, now_rfc3339());
    report_problems(events);
    for (StageEvents& stage : events.stages) {
      for (event::Event& e : stage.events) {
        e.timestamp = now_rfc3339();
        const std::string line = event::encode(e);
        if (const std::string error = append_line(logfile, line); !error.empty()) {
          return exit_fatal(out, "Cannot save to " + logfile, error);
        }
        if (verbose) out << line << "\n";
      }
    }
  }
  out.flush();
  return 0;
}

int run_dsiem(const ToolValues& values, std::ostream& out) {
  SendOptions send;
  send.address = values.text("address");
  send.port = values.integer("port");
  send.rps = values.integer("rps");
  send.concurrency = values.integer("concurrency");
  send.verbose = values.boolean("verbose");
  // T9: a rate that can never send is refused before anything happens.
  if (send.rps <= 0) {
    return exit_fatal(out, "Invalid --rps value",
                      "must be greater than 0, got " + std::to_string(send.rps));
  }
  if (send.port < 1 || send.port > 65535) {
    return exit_fatal(out, "Invalid --port value",
                      "must be between 1 and 65535, got " + std::to_string(send.port));
  }
  GenerationOptions options;
  options.home_net = values.text("homenet");
  options.src_ip = values.text("srcip");
  options.dst_ip = values.text("destip");
  options.max_per_rule = values.integer("max");
  options.title = std::string(kDsiemModeTitle);

  log::setup(true);
  std::vector<config::Directive> directives;
  try {
    directives = load_directives(values.text("file"));
  } catch (const std::exception& e) {
    return exit_fatal(out, "Cannot initialize directives", e.what());
  }
  EventGenerator generator(options, random_seed());
  const DirectiveSource source = [&](std::size_t i) {
    DirectiveEvents events = generator.generate(directives[i], now_rfc3339());
    report_problems(events);
    return events;
  };
  SendSummary summary;
  try {
    summary = send_events(directives.size(), source, send, out);
  } catch (const std::exception& e) {
    return exit_fatal(out, "Cannot send events", e.what());
  }
  print_summary(summary, out);
  if (summary.failed() > 0) {
    return exit_fatal(out, "Cannot send events",
                      std::to_string(summary.failed()) + " of " + std::to_string(summary.sent) +
                          " events were not accepted");
  }
  return 0;
}

ToolSpec dtester_spec(const GetEnv& getenv_fn) {
  using enum FlagType;
  ToolSpec spec;
  spec.name = "dtester";
  spec.env_prefix = "DTESTER";
  spec.description =
      "Directive rule tester: generates events that walk every stage of the directives and sends "
      "them to Dsiem or to a Filebeat log file";
  spec.persistent = {
      {"file", 'f', kString, "directives_*.json",
       "directive files to load (glob, relative to the current directory)"},
      {"max", 'n', kInt, "1000", "maximum number of events per rule"},
      {"verbose", 'v', kBool, "false", "print every event"},
  };
  spec.commands.push_back(ToolCommand{
      "dsiem",
      "Send the events to Dsiem over HTTP",
      {
          {"address", 'a', kString, "127.0.0.1", "Dsiem IP address"},
          {"port", 'p', kInt, "8080", "Dsiem port"},
          {"homenet", 'i', kString, "192.168.0.1",
           "address used for HOME_NET, should be inside a Dsiem asset"},
          {"srcip", 's', kString, "", "source IP of every event (default: generated)"},
          {"destip", 'd', kString, "", "destination IP of every event (default: generated)"},
          {"rps", 'r', kInt, "500", "events sent per second"},
          {"concurrency", 'c', kInt, "50", "maximum number of sends in flight"},
      },
      [](const ToolValues& v, std::ostream& out, std::ostream&) { return run_dsiem(v, out); },
  });
  spec.commands.push_back(ToolCommand{
      "fbeat",
      "Append the events to a JSON-lines file harvested by Filebeat",
      {
          {"logfile", 'l', kString, "/var/log/external/dtester.json", "output file"},
      },
      [getenv_fn](const ToolValues& v, std::ostream& out, std::ostream&) {
        return run_fbeat(v, out, getenv_fn);
      },
  });
  return spec;
}

}  // namespace

std::string append_line(const std::string& path, std::string_view line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "open " + path + ": " + error_text(errno);
  std::string data(line);
  data.push_back('\n');
  std::string error;
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = "write " + path + ": " + error_text(errno);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && error.empty()) error = "close " + path + ": " + error_text(errno);
  return error;
}

int run_dtester(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                const std::function<const char*(const char*)>& getenv_fn) {
  return run_tool(dtester_spec(getenv_fn), args, out, err, getenv_fn);
}

int run_dtester(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return run_dtester(args, out, err, ::getenv);
}

}  // namespace dsiem::tools
