#include "core/sse.hpp"

namespace al {

std::string sse_frame(std::string_view name, std::string_view data) {
  std::string out;
  out.reserve(name.size() + data.size() + 24);
  if (!name.empty()) {
    out += "event: ";
    for (char c : name)
      if (c != '\r' && c != '\n')
        out += c;
    out += '\n';
  }
  out += "data: ";
  for (std::size_t i = 0; i < data.size(); ++i) {
    char c = data[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n')
        ++i;
      out += "\ndata: ";
    } else {
      out += c;
    }
  }
  out += "\n\n";
  return out;
}

std::string sse_frame(std::string_view name, std::string_view data,
                      std::string_view id) {
  std::string out = "id: ";
  for (char c : id)
    if (c != '\r' && c != '\n' && c != '\0')
      out += c;
  out += '\n';
  return out + sse_frame(name, data);
}

std::string sse_comment(std::string_view text) {
  std::string out = ": ";
  for (char c : text)
    out += (c == '\r' || c == '\n') ? ' ' : c;
  out += "\n\n";
  return out;
}

} // namespace al
