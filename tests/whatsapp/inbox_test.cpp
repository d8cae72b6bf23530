// The shared WhatsApp inbox (/api/crm/whatsapp/conversations*) against the
// real PostgreSQL: conversations newest first with their last message, lead
// and unread count; the read marker; the AI state each conversation shows;
// the thread in conversation order, paged backwards, with its media; bad
// paging; another business's conversations are not found. The query
// parsers (core/wa_inbox_input.hpp) get hostile input first.
#include "tests/whatsapp/wa_support.hpp"

#include "core/wa_inbox_input.hpp"
#include "tests/support/closed_port.hpp"

#include <string>
#include <vector>

namespace al::test {
namespace {

// -- the parsers, no database -----------------------------------------------

form_params query(std::string_view raw) {
  auto q = parse_query(raw);
  EXPECT_TRUE(q) << raw;
  return q ? *q : form_params{};
}

TEST(wa_inbox_input, list_query_defaults_and_filters) {
  wa_inbox_query q;
  EXPECT_EQ(parse_wa_inbox_query(query(""), q), "");
  EXPECT_EQ(q.filter, "all");
  EXPECT_EQ(q.paging.page, 1);
  EXPECT_EQ(q.paging.per_page, default_per_page);
  for (auto f : {"all", "unread", "needs_agent", "human"}) {
    wa_inbox_query one;
    EXPECT_EQ(parse_wa_inbox_query(query(std::string{"filter="} + f), one), "");
    EXPECT_EQ(one.filter, f);
  }
  wa_inbox_query p;
  EXPECT_EQ(parse_wa_inbox_query(query("page=3&per_page=7&filter="), p), "");
  EXPECT_EQ(p.paging.page, 3);
  EXPECT_EQ(p.paging.per_page, 7);
  EXPECT_EQ(p.filter, "all");
}

TEST(wa_inbox_input, list_query_hostile_input) {
  for (auto raw :
       {"filter=ALL", "filter=unread%00", "filter=human%20", "filter=%D7%90",
        "filter=needs_agent,human", "page=0", "page=-1", "page=1e3",
        "page=99999999999999999999", "per_page=0", "per_page=201",
        "per_page=", "page=%31%00", "per_page=+5"}) {
    wa_inbox_query q;
    EXPECT_NE(parse_wa_inbox_query(query(raw), q), "") << raw;
  }
}

TEST(wa_inbox_input, thread_query) {
  wa_thread_query q;
  EXPECT_EQ(parse_wa_thread_query(query(""), q), "");
  EXPECT_FALSE(q.before_seq);
  EXPECT_EQ(q.limit, wa_thread_default_limit);
  EXPECT_EQ(parse_wa_thread_query(query("before_seq=17&limit=200"), q), "");
  EXPECT_EQ(q.before_seq, 17);
  EXPECT_EQ(q.limit, 200);
  for (auto raw :
       {"before_seq=0", "before_seq=-3", "before_seq=x", "before_seq=1.5",
        "before_seq=9999999999999999999999", "limit=0", "limit=201",
        "limit=", "limit=ten", "limit=5%00"}) {
    wa_thread_query bad;
    EXPECT_NE(parse_wa_thread_query(query(raw), bad), "") << raw;
  }
}

TEST(wa_inbox_input, peer_of_a_path_phone) {
  EXPECT_EQ(wa_peer_of("+972501234567"), "whatsapp:+972501234567");
  EXPECT_EQ(wa_peer_of("0501234567"), "whatsapp:+972501234567");
  EXPECT_EQ(wa_peer_of("whatsapp:+972501234567"), "whatsapp:+972501234567");
  for (auto bad : {"", "abc", "+", "050", "whatsapp:", "+972501234567'--",
                   "+97250123456789012345", "%2B972501234567"})
    EXPECT_FALSE(wa_peer_of(bad)) << bad;
}

TEST(wa_inbox_input, ai_state_precedence) {
  EXPECT_EQ(wa_ai_state(false, true, true), "off");
  EXPECT_EQ(wa_ai_state(true, true, true), "human");
  EXPECT_EQ(wa_ai_state(true, false, true), "needs_agent");
  EXPECT_EQ(wa_ai_state(true, false, false), "ai");
}

// -- the routes --------------------------------------------------------------

const std::string alice = "+972501111111";
const std::string bob = "+972502222222";
const std::string carol = "+972503333333";
const std::string dan = "+972504444444";

class wa_inbox_test : public whatsapp_test {
protected:
  /// An inbound message from `from` to business 1 through Twilio's webhook.
  void wrote(const std::string& from, const std::string& body) {
    auto sid = "SMin" + std::to_string(++inbound_n_);
    ASSERT_EQ(inbound(sid, from, body).status, 204);
  }

  /// A message stored the way actors/whatsapp_store.cpp stores it (the
  /// conversation row's next seq), without the webhook: no conversation
  /// actor runs, so a configured AI never answers. Returns the message id.
  std::string seed(std::int64_t business, const std::string& e164,
                   const std::string& direction, const std::string& body,
                   const std::string& sent_by = "NULL",
                   const std::string& template_name = "NULL") {
    auto peer = "'whatsapp:" + e164 + "'";
    auto b = std::to_string(business);
    bool in = direction == "in";
    auto id = sql(
      "WITH c AS (INSERT INTO wa_conversations AS w (business_id, peer,"
      " last_seq, last_inbound_at) VALUES ("
      + b + ", " + peer + ", 1, " + (in ? "now()" : "NULL")
      + ") ON CONFLICT (business_id, peer) DO UPDATE SET"
        " last_seq = w.last_seq + 1, last_message_at = now(),"
        " last_inbound_at = coalesce(EXCLUDED.last_inbound_at,"
        " w.last_inbound_at) RETURNING last_seq)"
        " INSERT INTO messages (business_id, direction, provider,"
        " from_address, to_address, body, status, conversation_seq, sent_by,"
        " template_name) SELECT "
      + b + ", '" + direction + "', 'twilio', "
      + (in ? peer : "'whatsapp:+14155238886'") + ", "
      + (in ? "'whatsapp:+14155238886'" : peer) + ", '" + body + "', '"
      + (in ? "received" : "sent") + "', c.last_seq, " + sent_by + ", "
      + template_name + " FROM c RETURNING id");
    EXPECT_FALSE(id.empty());
    return id;
  }

  wa_answer list(const std::string& q = "",
                 const std::string& token = "test-admin") {
    return api("GET", "/api/crm/whatsapp/conversations" + q, token);
  }

  wa_answer thread(const std::string& phone, const std::string& q = "",
                   const std::string& token = "test-admin") {
    return api("GET",
               "/api/crm/whatsapp/conversations/" + phone + "/messages" + q,
               token);
  }

  wa_answer read(const std::string& phone,
                 const std::string& token = "test-admin") {
    return api("POST", "/api/crm/whatsapp/conversations/" + phone + "/read",
               token);
  }

  /// The list's items, each as an object.
  static std::vector<json::object> items(const wa_answer& a) {
    std::vector<json::object> out;
    if (!a.json.is_object() || !a.obj().contains("items"))
      return out;
    for (auto& v : a.obj().at("items").as_array())
      out.push_back(v.as_object());
    return out;
  }

  static std::string str(const json::object& o, const char* key) {
    auto& v = o.at(key);
    return v.is_string() ? std::string{v.as_string()} : std::string{};
  }

  /// The phones of the list's items, in order.
  static std::vector<std::string> phones(const wa_answer& a) {
    std::vector<std::string> out;
    for (auto& o : items(a))
      out.push_back(str(o, "phone"));
    return out;
  }

  /// The item of `phone` in the list (an empty object when absent).
  static json::object item(const wa_answer& a, const std::string& phone) {
    for (auto& o : items(a))
      if (str(o, "phone") == phone)
        return o;
    ADD_FAILURE() << "no conversation " << phone << " in " << a.body;
    return {};
  }

  /// A config whose AI could run (a key; the API itself is a closed port,
  /// never reached because these tests seed messages without the webhook).
  config ai_config() {
    auto c = wa_config();
    c.openai_api_key = "sk-test";
    c.openai_api_base = "http://127.0.0.1:" + std::to_string(openai_.port())
                        + "/v1";
    return c;
  }

  int inbound_n_ = 0;
  closed_port openai_;
};

TEST_F(wa_inbox_test, conversations_newest_first_with_last_message) {
  start();
  auto r = list();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.num("total"), 0);
  EXPECT_TRUE(items(r).empty());

  wrote(alice, "שלום, מחפשת דירה");
  wrote(bob, "היי");
  r = list();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(phones(r), (std::vector<std::string>{bob, alice}));
  EXPECT_EQ(r.num("total"), 2);
  EXPECT_EQ(r.num("page"), 1);
  EXPECT_EQ(r.num("per_page"), 50);

  // Alice writes again: her conversation comes first.
  std::string long_body;
  for (int i = 0; i < 200; ++i)
    long_body += "א";
  wrote(alice, long_body);
  r = list();
  EXPECT_EQ(phones(r), (std::vector<std::string>{alice, bob}));
  auto a = item(r, alice);
  auto& last = a.at("last_message").as_object();
  EXPECT_EQ(str(last, "direction"), "in");
  // The first 120 characters (not bytes: Hebrew letters are two each).
  EXPECT_EQ(str(last, "body"), long_body.substr(0, 240));
  EXPECT_TRUE(last.at("sent_by").is_null());
  EXPECT_EQ(a.at("unread").as_int64(), 2);
  EXPECT_TRUE(a.at("window_open").as_bool());
  // The inbound message made the sender a lead.
  ASSERT_TRUE(a.at("lead_id").is_int64()) << r.body;
  EXPECT_EQ(std::to_string(a.at("lead_id").as_int64()),
            sql("SELECT id FROM leads WHERE phone = '" + alice + "'"));
  EXPECT_FALSE(str(a, "last_message_at").empty());
  // No OpenAI key in this config: the AI is off everywhere.
  EXPECT_EQ(str(a, "ai_state"), "off");
  EXPECT_TRUE(a.at("ai_paused_until").is_null());

  // Paging: one per page, newest first.
  r = list("?per_page=1&page=2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(phones(r), (std::vector<std::string>{bob}));
  EXPECT_EQ(r.num("total"), 2);

  // An agent's send is the last message, with who sent it, and no unread.
  auto s = send(R"({"to":")" + bob + R"(","message":"שלום בוב"})");
  ASSERT_EQ(s.status, 200) << s.body;
  r = list();
  EXPECT_EQ(phones(r), (std::vector<std::string>{bob, alice}));
  auto b = item(r, bob);
  EXPECT_EQ(str(b.at("last_message").as_object(), "direction"), "out");
  EXPECT_EQ(str(b.at("last_message").as_object(), "body"), "שלום בוב");
  EXPECT_EQ(b.at("unread").as_int64(), 1);

  // A window that closed 25 hours ago.
  sql("UPDATE wa_conversations SET last_inbound_at = now() - interval"
      " '25 hours' WHERE peer = 'whatsapp:"
      + bob + "' RETURNING 1");
  EXPECT_FALSE(item(list(), bob).at("window_open").as_bool());
}

TEST_F(wa_inbox_test, unread_counts_and_the_read_marker) {
  start();
  wrote(alice, "1");
  wrote(alice, "2");
  wrote(bob, "3");
  auto r = list();
  EXPECT_EQ(item(r, alice).at("unread").as_int64(), 2);
  EXPECT_EQ(item(r, bob).at("unread").as_int64(), 1);

  auto agent = new_token(1, "agent");
  auto ro = new_token(1, "read_only");
  // Reading is for any role; the read marker needs write access.
  EXPECT_EQ(list("", ro).status, 200);
  EXPECT_EQ(thread(alice, "", ro).status, 200);
  auto m = read(alice, ro);
  EXPECT_EQ(m.status, 403) << m.body;
  EXPECT_EQ(item(list(), alice).at("unread").as_int64(), 2);

  m = read(alice, agent);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.body, R"({"success":true,"unread":0})");
  r = list();
  EXPECT_EQ(item(r, alice).at("unread").as_int64(), 0);
  EXPECT_EQ(item(r, bob).at("unread").as_int64(), 1);
  EXPECT_EQ(phones(list("?filter=unread")), (std::vector<std::string>{bob}));
  EXPECT_EQ(list("?filter=unread").num("total"), 1);

  // The next inbound message is unread again; the local form of the number
  // names the same conversation.
  wrote(alice, "4");
  EXPECT_EQ(item(list(), alice).at("unread").as_int64(), 1);
  EXPECT_EQ(thread("0501111111").num("unread"), 1);
  m = read("0501111111", agent);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(item(list(), alice).at("unread").as_int64(), 0);
  // Percent-encoded '+' is the same path.
  EXPECT_EQ(read("%2B972502222222", agent).status, 200);
  EXPECT_TRUE(items(list("?filter=unread")).empty());

  // Unknown conversations and non-numbers are 404.
  EXPECT_EQ(read(carol, agent).status, 404);
  EXPECT_EQ(read("not-a-phone", agent).status, 404);
  EXPECT_EQ(read("not-a-phone", agent).body,
            R"({"success":false,"error":"No such conversation"})");
}

TEST_F(wa_inbox_test, ai_state_of_each_conversation) {
  start(ai_config());
  seed(1, alice, "in", "a");
  seed(1, bob, "in", "b");
  seed(1, carol, "in", "c");
  seed(1, dan, "in", "d");
  // Bob's was taken over (POST /api/crm/leads/{id}/takeover writes the
  // same column), Carol's AI asked for a person, Dan's pause ran out.
  sql("UPDATE wa_conversations SET ai_paused_until = now() + interval"
      " '12 hours', ai_paused_by = 'token:1' WHERE peer = 'whatsapp:"
      + bob + "' RETURNING 1");
  sql("UPDATE wa_conversations SET needs_agent = true WHERE peer ="
      " 'whatsapp:"
      + carol + "' RETURNING 1");
  sql("UPDATE wa_conversations SET ai_paused_until = now() - interval"
      " '1 minute' WHERE peer = 'whatsapp:"
      + dan + "' RETURNING 1");

  auto r = list();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(str(item(r, alice), "ai_state"), "ai");
  EXPECT_EQ(str(item(r, bob), "ai_state"), "human");
  EXPECT_FALSE(str(item(r, bob), "ai_paused_until").empty());
  EXPECT_EQ(str(item(r, carol), "ai_state"), "needs_agent");
  EXPECT_TRUE(item(r, carol).at("needs_agent").as_bool());
  EXPECT_EQ(str(item(r, dan), "ai_state"), "ai");
  EXPECT_TRUE(item(r, dan).at("ai_paused_until").is_null());
  EXPECT_TRUE(item(r, alice).at("lead_id").is_null()); // seeded: no lead
  EXPECT_EQ(phones(list("?filter=human")), (std::vector<std::string>{bob}));
  EXPECT_EQ(phones(list("?filter=needs_agent")),
            (std::vector<std::string>{carol}));
  EXPECT_EQ(thread(bob).str("ai_state"), "human");

  // The owner switches the business's AI off: every conversation is off.
  auto owner = new_token(1, "owner");
  auto p = api("PATCH", "/api/crm/settings", owner, R"({"whatsapp_ai":false})");
  ASSERT_EQ(p.status, 200) << p.body;
  r = list();
  for (auto& o : items(r))
    EXPECT_EQ(str(o, "ai_state"), "off") << str(o, "phone");
  EXPECT_EQ(r.num("total"), 4);
  // The filters still see the columns.
  EXPECT_EQ(phones(list("?filter=needs_agent")),
            (std::vector<std::string>{carol}));
}

TEST_F(wa_inbox_test, thread_in_order_paged_backwards_with_media) {
  start();
  auto m1 = seed(1, alice, "in", "שלום");
  seed(1, alice, "out", "שלום! במה אפשר לעזור?", "'ai'");
  auto m3 = seed(1, alice, "in", "תמונה");
  seed(1, alice, "out", "עניתי", "'agent'");
  seed(1, alice, "out", "תזכורת", "'system'", "'follow_up'");
  // Message 3 carries a stored photo and a voice note still pending.
  sql("INSERT INTO message_media (business_id, message_id, idx, status,"
      " content_type, filename, size_bytes, bytes) VALUES (1, "
      + m3 + ", 0, 'stored', 'image/jpeg', 'a.jpg', 3, '\\x010203'), (1, " + m3
      + ", 1, 'pending', 'audio/ogg', '', 0, NULL) RETURNING 1");
  sql("UPDATE message_media SET transcript = 'שלום' WHERE idx = 1"
      " RETURNING 1");

  auto r = thread(alice, "?limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  auto seqs = [](const wa_answer& a) {
    std::vector<std::int64_t> out;
    for (auto& v : a.obj().at("items").as_array())
      out.push_back(v.as_object().at("seq").as_int64());
    return out;
  };
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{4, 5}));
  EXPECT_TRUE(r.obj().at("has_more").as_bool());
  EXPECT_EQ(r.num("next_before_seq"), 4);
  EXPECT_EQ(r.str("phone"), alice);
  auto last = items(r)[1];
  EXPECT_EQ(str(last, "direction"), "out");
  EXPECT_EQ(str(last, "sent_by"), "system");
  EXPECT_EQ(str(last, "template_name"), "follow_up");
  EXPECT_EQ(str(last, "body"), "תזכורת");
  EXPECT_EQ(str(last, "status"), "sent");
  EXPECT_TRUE(last.at("media").as_array().empty());
  EXPECT_EQ(str(items(r)[0], "sent_by"), "agent");

  r = thread(alice, "?limit=2&before_seq=4");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(r.num("next_before_seq"), 2);
  auto photo = items(r)[1];
  EXPECT_EQ(std::to_string(photo.at("id").as_int64()), m3);
  auto& media = photo.at("media").as_array();
  ASSERT_EQ(media.size(), 2u) << r.body;
  auto& img = media[0].as_object();
  EXPECT_EQ(img.at("idx").as_int64(), 0);
  EXPECT_EQ(str(img, "status"), "stored");
  EXPECT_EQ(str(img, "content_type"), "image/jpeg");
  EXPECT_EQ(img.at("size").as_int64(), 3);
  EXPECT_EQ(str(img, "filename"), "a.jpg");
  EXPECT_EQ(str(img, "url"), "/api/crm/messages/" + m3 + "/media/0");
  EXPECT_TRUE(img.at("transcript").is_null());
  auto& voice = media[1].as_object();
  EXPECT_EQ(str(voice, "status"), "pending");
  EXPECT_TRUE(voice.at("url").is_null());
  EXPECT_EQ(str(voice, "transcript"), "שלום");
  EXPECT_EQ(str(items(r)[0], "sent_by"), "ai");

  r = thread(alice, "?limit=2&before_seq=2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{1}));
  EXPECT_FALSE(r.obj().at("has_more").as_bool());
  EXPECT_TRUE(r.obj().at("next_before_seq").is_null());
  EXPECT_EQ(std::to_string(items(r)[0].at("id").as_int64()), m1);
  EXPECT_TRUE(items(r)[0].at("sent_by").is_null());

  // The default page holds the whole (short) thread, oldest first.
  r = thread(alice);
  EXPECT_EQ(seqs(r), (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(r.obj().at("has_more").as_bool());
  // The list shows who sent the last message.
  EXPECT_EQ(str(item(list(), alice).at("last_message").as_object(), "sent_by"),
            "system");

  // Unknown conversations are 404; another number is not this thread.
  auto u = thread(bob);
  EXPECT_EQ(u.status, 404) << u.body;
  EXPECT_EQ(u.body, R"({"success":false,"error":"No such conversation"})");
  EXPECT_EQ(thread("hello").status, 404);
}

TEST_F(wa_inbox_test, bad_paging_is_400) {
  start();
  seed(1, alice, "in", "x");
  for (auto q : {"?page=0", "?per_page=0", "?per_page=201", "?page=abc",
                 "?filter=everything", "?filter=Unread", "?page=%zz"}) {
    auto r = list(q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_FALSE(r.obj().at("success").as_bool()) << q;
    EXPECT_FALSE(r.str("error").empty()) << q;
  }
  for (auto q : {"?before_seq=0", "?before_seq=-1", "?before_seq=x", "?limit=0",
                 "?limit=201", "?limit=1.5", "?before_seq=%"}) {
    auto r = thread(alice, q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_FALSE(r.str("error").empty()) << q;
  }
  // Past the last page: empty, with the total.
  auto r = list("?page=5");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(items(r).empty());
  EXPECT_EQ(r.num("total"), 1);
  // Before the first message: an empty page.
  r = thread(alice, "?before_seq=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(items(r).empty());
  EXPECT_FALSE(r.obj().at("has_more").as_bool());
}

TEST_F(wa_inbox_test, another_business_conversation_is_not_found) {
  start();
  wrote(alice, "שלום");
  auto other = new_business(R"({"name":"Other"})");
  auto tok = new_token(other, "owner");
  seed(other, bob, "in", "other");

  // The other business sees only its own conversation.
  auto r = list("", tok);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(phones(r), (std::vector<std::string>{bob}));
  EXPECT_EQ(r.num("total"), 1);
  EXPECT_EQ(thread(alice, "", tok).status, 404);
  EXPECT_EQ(read(alice, tok).status, 404);
  EXPECT_EQ(item(list(), alice).at("unread").as_int64(), 1);
  // And business 1 does not see the other's.
  EXPECT_EQ(phones(list()), (std::vector<std::string>{alice}));
  EXPECT_EQ(thread(bob).status, 404);
  EXPECT_EQ(read(bob).status, 404);
  EXPECT_EQ(thread(bob, "", tok).status, 200);
  // The admin token acts for the business it names.
  auto b = std::to_string(other);
  EXPECT_EQ(phones(list("?business_id=" + b)), (std::vector<std::string>{bob}));
  EXPECT_EQ(thread(alice, "?business_id=" + b).status, 404);
  // The same number in both businesses is two conversations.
  seed(other, alice, "in", "other alice");
  EXPECT_EQ(str(item(list("", tok), alice).at("last_message").as_object(),
                "body"),
            "other alice");
  EXPECT_EQ(str(item(list(), alice).at("last_message").as_object(), "body"),
            "שלום");
  ASSERT_EQ(read(alice, tok).status, 200);
  EXPECT_EQ(item(list(), alice).at("unread").as_int64(), 1);
  // Without a token: 401.
  EXPECT_EQ(http_call(port(), "GET", "/api/crm/whatsapp/conversations").status,
            401);
}

} // namespace
} // namespace al::test
