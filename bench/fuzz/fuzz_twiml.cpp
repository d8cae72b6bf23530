// TwiML with fuzzed parameters (core/twiml.hpp). Input: lines; each line is
// one <Parameter> "name<TAB>value" for connect_stream_twiml; the whole input
// is also the <Say> prompt of recording_fallback_twiml and, read as a program
// (first byte of each line = operation), drives an xml_writer directly.
// Every document produced must be well-formed XML (fuzz_util.hpp's strict
// checker), and the parameters must read back as xml_clean of what was given.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/twiml.hpp"
#include "core/url_builder.hpp"

namespace {

using namespace al;
using al::fuzz::check;

const url_builder& urls() {
  static const url_builder u{"https://al.example.test/prefix"};
  return u;
}

const std::string* attr(const fuzz::xml_element& el, std::string_view name) {
  for (auto& [k, v] : el.attrs)
    if (k == name)
      return &v;
  return nullptr;
}

void connect_stream(const std::vector<std::string_view>& lines) {
  std::vector<std::pair<std::string, std::string>> params;
  bool acceptable = true;
  for (auto line : lines) {
    auto tab = line.find('\t');
    std::string name{line.substr(0, tab)};
    std::string value{tab == std::string_view::npos ? std::string_view{}
                                                    : line.substr(tab + 1)};
    auto n = xml_clean(name).size();
    if (n == 0 || n + xml_clean(value).size() >= twiml_parameter_limit)
      acceptable = false;
    params.emplace_back(std::move(name), std::move(value));
  }
  auto doc = connect_stream_twiml(urls(), params);
  check(doc.has_value() == acceptable, "connect_stream_twiml acceptance");
  if (!doc)
    return;
  auto root = fuzz::require_xml(*doc);
  check(root.name == "Response" && root.children.size() == 1,
        "<Response> with one child");
  auto& connect = root.children[0];
  check(connect.name == "Connect" && connect.children.size() == 1,
        "<Connect> with one child");
  auto* action = attr(connect, "action");
  check(action && *action == urls().http("/webhook/stream_ended"),
        "Connect action");
  auto& stream = connect.children[0];
  check(stream.name == "Stream", "<Stream>");
  auto* url = attr(stream, "url");
  check(url && *url == "wss://al.example.test/prefix/ws/twilio-media",
        "Stream url");
  check(stream.children.size() == params.size(), "one <Parameter> each");
  for (std::size_t k = 0; k < params.size(); ++k) {
    auto& p = stream.children[k];
    check(p.name == "Parameter" && p.attrs.size() == 2, "<Parameter> shape");
    auto* name = attr(p, "name");
    auto* value = attr(p, "value");
    check(name && *name == xml_clean(params[k].first), "Parameter name");
    check(value && *value == xml_clean(params[k].second), "Parameter value");
  }
}

void say(std::string_view prompt) {
  auto doc = recording_fallback_twiml(urls(), prompt);
  auto root = fuzz::require_xml(doc);
  check(root.name == "Response", "<Response>");
  for (auto& el : root.children)
    if (el.name == "Say")
      check(el.text == xml_clean(prompt), "<Say> text reads back");
}

// Ops: o=open NAME, a=attr NAME<TAB>VALUE, t=text, c=close, e=empty NAME,
// d=declaration, s=str() must be well-formed now, anything else ignored.
void writer_program(const std::vector<std::string_view>& lines) {
  xml_writer w;
  bool any = false;
  for (auto line : lines) {
    if (line.empty())
      continue;
    auto arg = line.substr(1);
    switch (line[0]) {
      case 'o':
        w.open(arg);
        any = true;
        break;
      case 'a': {
        auto tab = arg.find('\t');
        w.attr(arg.substr(0, tab), tab == std::string_view::npos
                                     ? std::string_view{}
                                     : arg.substr(tab + 1));
        break;
      }
      case 't':
        w.text(arg);
        break;
      case 'c':
        w.close();
        break;
      case 'e':
        w.empty_element(arg);
        any = true;
        break;
      case 'd':
        w.declaration();
        break;
      case 's': {
        auto snap = w.str();
        if (snap.find(
              '<', snap.rfind("?>") == std::string::npos ? 0 : snap.rfind("?>"))
            != std::string::npos)
          fuzz::require_xml(snap);
        break;
      }
      default:
        break;
    }
  }
  auto out = w.take();
  if (any)
    fuzz::require_xml(out);
  check(w.take().empty(), "take() leaves the writer empty");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 64 * 1024)
    return 0;
  auto input = fuzz::as_view(data, size);
  auto lines = fuzz::split(input, '\n');
  if (lines.size() <= 64)
    connect_stream(lines);
  say(input);
  writer_program(lines);
  return 0;
}
