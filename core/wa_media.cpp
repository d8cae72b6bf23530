#include "core/wa_media.hpp"

#include "core/business_input.hpp"
#include "core/json.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <array>
#include <cctype>

namespace al {

namespace {

constexpr std::size_t max_url = 2048;
constexpr std::size_t max_redirect_url = 4096;
constexpr std::size_t max_filename = 200;

std::string ascii_lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
         || c == '\v';
}

constexpr std::array<std::string_view, 16> allowed_types{
  "image/jpeg",
  "image/png",
  "image/webp",
  "audio/ogg",
  "audio/mpeg",
  "audio/amr",
  "audio/aac",
  "audio/mp4",
  "video/mp4",
  "application/pdf",
  "application/msword",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  "application/vnd.ms-excel",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  "application/vnd.ms-powerpoint",
  "application/vnd.openxmlformats-officedocument.presentationml"
  ".presentation",
};

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return true;
  return false;
}

/// An absolute http(s) URL whose authority is exactly what the text says
/// (Boost.URL 1.81 would read "http://127.0.0.1.evil/" as host 127.0.0.1;
/// see core/business_input.cpp) and whose path is empty or starts with '/'.
std::optional<boost::urls::url_view> http_url(std::string_view url) {
  if (url.find_first_of(" \"<>\\") != std::string_view::npos
      || has_control(url))
    return std::nullopt;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    return std::nullopt;
  auto id = parsed->scheme_id();
  if ((id != boost::urls::scheme::http && id != boost::urls::scheme::https)
      || !parsed->has_authority() || parsed->encoded_host().empty())
    return std::nullopt;
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return std::nullopt;
  auto rest = url.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  auto path = parsed->encoded_path();
  if (authority
        != std::string_view{parsed->encoded_authority().data(),
                            parsed->encoded_authority().size()}
      || (!path.empty() && path.front() != '/'))
    return std::nullopt;
  return *parsed;
}

/// "scheme://host:port" with the default port filled in, lower case.
std::optional<std::string> origin(std::string_view url) {
  auto u = http_url(url);
  if (!u)
    return std::nullopt;
  auto scheme
    = ascii_lower(std::string_view{u->scheme().data(), u->scheme().size()});
  auto host = ascii_lower(
    std::string_view{u->encoded_host().data(), u->encoded_host().size()});
  std::string port{u->port()};
  if (port.empty())
    port = scheme == "https" ? "443" : "80";
  return scheme + "://" + host + ":" + port;
}

/// Length of the valid UTF-8 sequence at s[i], 0 when invalid.
std::size_t utf8_len(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80)
    return 1;
  std::size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                  : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xF0 && c <= 0xF4 ? 4
                                           : 0;
  if (n == 0 || i + n > s.size())
    return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
      return 0;
  auto c1 = static_cast<unsigned char>(s[i + 1]);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F)
      || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
    return 0;
  return n;
}

} // namespace

std::string wa_media_base_type(std::string_view ct) {
  auto semi = ct.find(';');
  if (semi != std::string_view::npos)
    ct = ct.substr(0, semi);
  while (!ct.empty() && blank(ct.front()))
    ct.remove_prefix(1);
  while (!ct.empty() && blank(ct.back()))
    ct.remove_suffix(1);
  if (ct.size() > 128)
    return {};
  return ascii_lower(ct);
}

bool wa_media_type_allowed(std::string_view ct) {
  auto base = wa_media_base_type(ct);
  for (auto t : allowed_types)
    if (base == t)
      return true;
  return false;
}

bool wa_media_inline(std::string_view ct) {
  auto base = wa_media_base_type(ct);
  return base.rfind("image/", 0) == 0 || base.rfind("audio/", 0) == 0;
}

bool wa_media_is_audio(std::string_view ct) {
  return wa_media_base_type(ct).rfind("audio/", 0) == 0;
}

std::string wa_media_filename(std::string_view name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos)
    name = name.substr(slash + 1);
  std::string out;
  std::size_t i = 0;
  while (i < name.size()) {
    auto n = utf8_len(name, i);
    if (n == 0) {
      ++i;
      continue;
    }
    auto c = static_cast<unsigned char>(name[i]);
    bool drop = n == 1 && (c < 0x20 || c == 0x7f || c == '"' || c == '\'');
    if (!drop) {
      if (out.size() + n > max_filename)
        break;
      out.append(name.substr(i, n));
    }
    i += n;
  }
  while (!out.empty() && (out.front() == '.' || out.front() == ' '))
    out.erase(out.begin());
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::string wa_media_disposition(std::string_view filename, int idx) {
  auto name = wa_media_filename(filename);
  if (name.empty())
    name = "media-" + std::to_string(idx);
  std::string ascii;
  bool plain = true;
  for (unsigned char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ';' && c != '%')
      ascii.push_back(static_cast<char>(c));
    else {
      plain = false;
      if (c < 0x80 || (c & 0xC0) == 0xC0) // one '_' per character
        ascii.push_back('_');
    }
  }
  std::string out = "attachment; filename=\"" + ascii + "\"";
  if (!plain)
    out += "; filename*=UTF-8''"
           + boost::urls::encode(name, boost::urls::unreserved_chars);
  return out;
}

std::string wa_media_audio_filename(std::string_view ct) {
  auto base = wa_media_base_type(ct);
  if (base == "audio/mpeg")
    return "voice.mp3";
  if (base == "audio/amr")
    return "voice.amr";
  if (base == "audio/aac")
    return "voice.aac";
  if (base == "audio/mp4")
    return "voice.m4a";
  return "voice.ogg";
}

std::optional<meta_media_info> parse_meta_media_lookup(std::string_view body) {
  json_doc doc;
  if (!doc.parse(body))
    return std::nullopt;
  auto o = doc.object();
  if (!o)
    return std::nullopt;
  auto url = get_string(*o, "url");
  if (!url.ok() || url.value.empty() || url.value.size() > max_redirect_url
      || !http_url(url.value))
    return std::nullopt;
  meta_media_info out;
  out.url = std::string{url.value};
  if (auto m = get_string(*o, "mime_type"); m.ok())
    out.mime_type = wa_media_base_type(m.value);
  if (auto n = get_int(*o, "file_size"); n.ok() && n.value >= 0)
    out.file_size = n.value;
  else if (auto s = get_string(*o, "file_size");
           s.ok() && !s.value.empty() && s.value.size() <= 18) {
    std::int64_t v = 0;
    bool digits = true;
    for (char c : s.value) {
      if (c < '0' || c > '9')
        digits = false;
      else
        v = v * 10 + (c - '0');
    }
    if (digits)
      out.file_size = v;
  }
  return out;
}

std::optional<std::string> wa_media_redirect(std::string_view from,
                                             std::string_view location) {
  while (!location.empty() && blank(location.front()))
    location.remove_prefix(1);
  while (!location.empty() && blank(location.back()))
    location.remove_suffix(1);
  if (location.empty() || location.size() > max_redirect_url
      || has_control(location))
    return std::nullopt;
  if (location.front() == '/') {
    if (location.size() > 1 && (location[1] == '/' || location[1] == '\\'))
      return std::nullopt; // "//host": another host, scheme-relative
    auto o = http_url(from);
    if (!o)
      return std::nullopt;
    auto base
      = ascii_lower(std::string_view{o->scheme().data(), o->scheme().size()});
    base += "://";
    base += std::string_view{o->encoded_authority().data(),
                             o->encoded_authority().size()};
    auto joined = base + std::string{location};
    if (!http_url(joined))
      return std::nullopt;
    return joined;
  }
  if (!http_url(location))
    return std::nullopt;
  // The scheme in lower case ("HTTPS://" is the same URL).
  auto sep = location.find("://");
  return ascii_lower(location.substr(0, sep))
         + std::string{location.substr(sep)};
}

bool wa_same_origin(std::string_view a, std::string_view b) {
  auto x = origin(a);
  auto y = origin(b);
  return x && y && *x == *y;
}

std::string wa_media_url_error(std::string_view url, std::string_view what) {
  std::string name{what};
  if (url.size() > max_url)
    return name + " is longer than 2048 bytes";
  auto u = http_url(url);
  if (!u)
    return name + " must be an absolute https URL";
  if (u->has_userinfo())
    return name + " must not carry a user name or password";
  if (u->scheme_id() == boost::urls::scheme::http
      && !loopback_host(ascii_lower(
        std::string_view{u->encoded_host().data(), u->encoded_host().size()})))
    return name + " must use https";
  return {};
}

bool wa_media_url_is_document(std::string_view url) {
  auto u = http_url(url);
  if (!u)
    return false;
  auto path = ascii_lower(
    std::string_view{u->encoded_path().data(), u->encoded_path().size()});
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".pdf") == 0;
}

bool wa_is_opt_out(std::string_view body) {
  if (body.size() > 64)
    return false;
  // Blanks, NBSP and the direction/zero-width marks Hebrew keyboards add.
  constexpr std::array<std::string_view, 7> marks{
    "\xC2\xA0",     // U+00A0 no-break space
    "\xE2\x80\x8B", // U+200B zero width space
    "\xE2\x80\x8C", // U+200C ZWNJ
    "\xE2\x80\x8D", // U+200D ZWJ
    "\xE2\x80\x8E", // U+200E LRM
    "\xE2\x80\x8F", // U+200F RLM
    "\xEF\xBB\xBF", // U+FEFF BOM
  };
  auto strip = [&](bool punctuation) {
    bool changed = true;
    while (changed && !body.empty()) {
      changed = false;
      if (blank(body.front())) {
        body.remove_prefix(1);
        changed = true;
      } else if (blank(body.back())
                 || (punctuation
                     && std::string_view{".!?,;:~*-"}.find(body.back())
                          != std::string_view::npos)) {
        body.remove_suffix(1);
        changed = true;
      }
      for (auto m : marks) {
        if (body.size() >= m.size() && body.substr(0, m.size()) == m) {
          body.remove_prefix(m.size());
          changed = true;
        }
        if (body.size() >= m.size()
            && body.substr(body.size() - m.size()) == m) {
          body.remove_suffix(m.size());
          changed = true;
        }
      }
    }
  };
  strip(true);
  auto word = ascii_lower(body);
  return word == "\xD7\x94\xD7\xA1\xD7\xA8"            // הסר
         || word == "\xD7\x94\xD7\xA1\xD7\xA8\xD7\x94" // הסרה
         || word == "stop" || word == "unsubscribe";
}

} // namespace al
