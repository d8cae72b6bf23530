// The WhatsApp AI's reading of chat completions (core/wa_ai_wire): a reply's
// text and tool calls, a provider's error body, the handoff arguments. What
// is accepted must come out bounded and well-formed: text within its limit
// and valid UTF-8, tool calls with an id, a plain name and arguments that
// are a JSON object; a reply fed back into a request serialises as JSON.

#include "bench/fuzz/fuzz_util.hpp"
#include "core/json.hpp"
#include "core/wa_ai_wire.hpp"

#include <variant>

namespace {

using namespace al;
using al::fuzz::check;

void check_reply(const wa_chat_reply& r) {
  check(!r.content.empty() || !r.tool_calls.empty(), "a reply says something");
  check(r.content.size() <= wa_max_reply_bytes, "text bounded");
  check(valid_utf8(r.content), "text is UTF-8");
  check(r.tool_calls.size() <= wa_max_tool_calls, "calls bounded");
  for (auto& c : r.tool_calls) {
    check(!c.id.empty() && c.id.size() <= 200, "call id");
    check(!c.name.empty() && c.name.size() <= 64, "call name");
    check(c.arguments.size() <= wa_max_arguments, "arguments bounded");
    json_doc doc;
    check(doc.parse(c.arguments) && doc.object().has_value(),
          "arguments are a JSON object");
  }
  // Back into the next request, as the conversation does.
  wa_chat_message m;
  m.role = "assistant";
  m.content = r.content;
  m.tool_calls = r.tool_calls;
  json_doc doc;
  check(doc.parse(wa_chat_request("m", {m})), "the request is JSON");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 256 * 1024)
    return 0;
  auto in = fuzz::as_view(data, size);
  auto r = parse_wa_chat_reply(in);
  if (auto* reply = std::get_if<wa_chat_reply>(&r))
    check_reply(*reply);
  else
    check(!std::get<std::string>(r).empty(), "an error says why");
  auto f = wa_chat_failure(503, in, {});
  check(f.size() <= 220 && valid_utf8(f), "failure text bounded");
  std::string reason;
  if (wa_handoff_reason(in, reason).empty())
    check(reason.size() <= 300 && valid_utf8(reason), "reason bounded");
  return 0;
}
