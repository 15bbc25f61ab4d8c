#pragma once

#include <filesystem>
#include <string>

#include "dsiem/http/router.h"

namespace dsiem::http {

// GET <prefix>{filepath...}: files of `root` (the web UI in web/dist), index.html for a
// directory, a plain listing for a directory without one, 404 "Not Found" otherwise. Paths
// that resolve outside `root` are not served. `prefix` ends with '/', e.g. "/ui/".
void add_static_route(Router& router, const std::string& prefix, std::filesystem::path root);

// Content-Type for a file name, by extension ("application/octet-stream" when unknown).
std::string content_type_for(const std::filesystem::path& file);

}  // namespace dsiem::http
