#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "dsiem/http/router.h"

// The /config routes (cluster.md §4.2–4.5): list, download and, when writeable, upload and
// delete the files of the configs directory. Handlers answer synchronously on the I/O thread.
namespace dsiem::http {

// Registers GET /config/ and GET /config/{filename}, plus POST and DELETE /config/{filename}
// when `writeable` (otherwise the router answers those with 405, Allow: GET, OPTIONS).
// Uploads are written with mode 0600 to a temporary name (".<filename>.tmp.<pid>.<n>") in the
// same directory and renamed over the target, so a half-written config never exists.
void add_config_routes(Router& router, std::filesystem::path configs_dir, bool writeable);

// The file-name rule `^[a-zA-Z0-9]([a-zA-Z0-9_-]+)?.json$` with Go regexp semantics: the dot is
// unescaped and matches any one character (a UTF-8 code point) except '\n'.
bool is_valid_config_filename(std::string_view name);

// The upload content check chosen by name prefix (assets_, directives_, intel_, vuln_): the
// body must be a JSON object whose key (matched case-insensitively, as Go does) holds a
// non-empty array of objects. Returns the error text for the 418 answer, or nullopt when the
// content is accepted (always for other prefixes). Only that outer shape is checked; the
// entries themselves are validated when the config is loaded.
std::optional<std::string> check_config_content(std::string_view filename, std::string_view body);

}  // namespace dsiem::http
