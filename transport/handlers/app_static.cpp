// GET /app, /app/*: the dashboard's static files (web/ in the checkout, or
// WEB_ROOT), read once at start-up into memory (a few hundred KB). Only the
// names found then are ever served, so no request path reaches the file
// system (no traversal, no symlink surprises). Any other extension-less path
// under /app is the single-page app's own route: index.html. Every file has
// a strong ETag (If-None-Match -> 304); HTML, scripts and styles are
// revalidated on each load (so a new build shows at once), fonts are cached
// for a week. The HTML carries a Content-Security-Policy that allows this
// origin only: the page cannot load anything from a CDN even by mistake.
#include "transport/handlers/handlers.hpp"

#include "core/crypto.hpp"
#include "transport/router.hpp"
#include "transport/services.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

namespace al {

namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t max_file_bytes = 4 * 1024 * 1024;
constexpr std::uintmax_t max_total_bytes = 32 * 1024 * 1024;
constexpr int max_depth = 2; // web/x and web/dir/x, as the routes below

// Images may come from any https origin: listing photos live on the
// office's site or a portal's CDN (an image cannot run script).
constexpr auto csp = "default-src 'self'; script-src 'self'; style-src 'self';"
                     " img-src 'self' data: blob: https:; media-src 'self' "
                     "blob:; font-src 'self';"
                     " connect-src 'self'; object-src 'none'; base-uri 'none';"
                     " form-action 'self'; frame-ancestors 'none'";

struct web_file {
  std::string body;
  std::string type;
  std::string etag;
  std::string cache;
};

using web_files = std::map<std::string, web_file, std::less<>>;

std::string lower_ext(const fs::path& p) {
  auto ext = p.extension().string();
  for (auto& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

/// Content type by extension; empty for files we do not serve.
std::string_view type_of(const std::string& ext) {
  static const std::map<std::string, std::string_view, std::less<>> types{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".txt", "text/plain; charset=utf-8"},
  };
  auto i = types.find(ext);
  return i == types.end() ? std::string_view{} : i->second;
}

/// Reads the servable files under `root` (hidden names and unknown types
/// are skipped). Logs and returns what it could read.
web_files load_web_root(const std::string& root) {
  web_files out;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    try {
      spdlog::warn("dashboard: web root {} not found: /app answers 503", root);
    } catch (...) {
    }
    return out;
  }
  std::uintmax_t total = 0;
  fs::recursive_directory_iterator it{root, ec}, end;
  for (; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || name == "node_modules") {
      if (it->is_directory(ec))
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory(ec)) {
      if (it.depth() + 1 >= max_depth)
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec))
      continue;
    auto type = type_of(lower_ext(it->path()));
    auto size = it->file_size(ec);
    if (type.empty() || ec || size > max_file_bytes
        || total + size > max_total_bytes)
      continue;
    std::ifstream in{it->path(), std::ios::binary};
    std::string data(static_cast<std::size_t>(size), '\0');
    if (!in.read(data.data(), static_cast<std::streamsize>(size)))
      continue;
    total += size;
    auto rel = fs::relative(it->path(), root, ec).generic_string();
    if (ec)
      continue;
    web_file f;
    f.etag = "\"" + crypto::to_hex(crypto::sha256(data)).substr(0, 32) + "\"";
    f.type = std::string{type};
    bool font = f.type.rfind("font/", 0) == 0;
    f.cache = font ? "public, max-age=604800" : "no-cache";
    f.body = std::move(data);
    out.emplace(std::move(rel), std::move(f));
  }
  try {
    spdlog::info("dashboard: {} files ({} bytes) from {}", out.size(), total,
                 root);
  } catch (...) {
  }
  return out;
}

http_response serve(const web_file& f, const request& req) {
  http_response res{http::status::ok, 11};
  auto match = req.header(http::field::if_none_match);
  if (!match.empty() && match.find(f.etag) != std::string_view::npos) {
    res.result(http::status::not_modified);
  } else {
    res.set(http::field::content_type, f.type);
    res.body() = f.body;
  }
  res.set(http::field::etag, f.etag);
  res.set(http::field::cache_control, f.cache);
  res.set("X-Content-Type-Options", "nosniff");
  if (f.type.rfind("text/html", 0) == 0) {
    res.set("Content-Security-Policy", csp);
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
  }
  res.prepare_payload();
  return res;
}

} // namespace

void add_app_routes(router& r, services& svc) {
  auto files
    = std::make_shared<const web_files>(load_web_root(svc.cfg.web_root));
  auto handle = [files](request_ptr req, responder res) {
    std::string name;
    for (auto& seg : req->path_params)
      name += (name.empty() ? "" : "/") + seg;
    if (auto i = files->find(name); !name.empty() && i != files->end())
      return res(serve(i->second, *req));
    // A missing asset is a 404; any other path is a route of the app.
    if (!fs::path(name).extension().empty())
      return res(error_response(http::status::not_found, "Not found"));
    auto index = files->find("index.html");
    if (index == files->end())
      return res(error_response(http::status::service_unavailable,
                                "The dashboard is not installed (WEB_ROOT)"));
    res(serve(index->second, *req));
  };
  r.add(http::verb::get, "/app", handle);
  r.add(http::verb::get, "/app/", handle);
  r.add(http::verb::get, "/app/{file}", handle);
  r.add(http::verb::get, "/app/{dir}/{file}", handle);
}

} // namespace al
