#include "dsiem/http/static_files.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace dsiem::http {

namespace {

Response not_found() {
  Response r;
  r.status = 404;
  r.body = "Not Found";
  return r;
}

bool inside(const std::filesystem::path& root, const std::filesystem::path& p) {
  auto rel = p.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

Response listing(const std::filesystem::path& dir, const std::string& url_path) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string() + (entry.is_directory() ? "/" : ""));
  }
  std::sort(names.begin(), names.end());
  std::string body =
      "<html><head><title>" + url_path + "</title></head><body><h1>" + url_path + "</h1><ul>";
  for (const auto& n : names) body += "<li><a href=\"" + n + "\">" + n + "</a></li>";
  body += "</ul></body></html>";
  Response r;
  r.body = std::move(body);
  r.content_type = "text/html; charset=utf-8";
  return r;
}

}  // namespace

std::string content_type_for(const std::filesystem::path& file) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/vnd.microsoft.icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const std::string ext = file.extension().string();
  for (const auto& [e, t] : kTypes) {
    if (ext == e) return t;
  }
  return "application/octet-stream";
}

void add_static_route(Router& router, const std::string& prefix, std::filesystem::path root) {
  router.add("GET", prefix + "{filepath...}",
             [root = std::move(root), prefix](Request&& req, Responder respond) {
               std::error_code ec;
               const auto base = std::filesystem::weakly_canonical(root, ec);
               if (ec) return respond(not_found());
               auto target = std::filesystem::weakly_canonical(base / req.params["filepath"], ec);
               if (ec || (target != base && !inside(base, target))) return respond(not_found());
               if (std::filesystem::is_directory(target, ec)) {
                 if (!std::filesystem::is_regular_file(target / "index.html", ec)) {
                   return respond(listing(target, req.path));
                 }
                 target /= "index.html";
               }
               std::ifstream in(target, std::ios::binary);
               if (!in || !std::filesystem::is_regular_file(target, ec)) {
                 return respond(not_found());
               }
               std::ostringstream body;
               body << in.rdbuf();
               Response r;
               r.body = body.str();
               r.content_type = content_type_for(target);
               respond(std::move(r));
             });
}

}  // namespace dsiem::http
