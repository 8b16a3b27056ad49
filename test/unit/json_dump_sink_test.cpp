// The streaming reader of FAS dumps: elements handed over one at a time whatever way the
// body is cut into pieces, the rest of the answer kept, bad input refused.
#include "../../lib/fas/core.hpp"
#include "../../lib/fas/json_dump_sink.hpp"

#include <fedora/fas/operations.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <map>
#include <type_traits>

namespace json = boost::json;
using fedora::errc;
using fedora::fas::detail::json_dump_sink;

namespace {

boost::beast::http::response_header<> json_header(unsigned status = 200)
{
    boost::beast::http::response_header<> h;
    h.result(status);
    h.set(boost::beast::http::field::content_type, "application/json; charset=utf-8");
    return h;
}

// Each element as the reader saw it: its fields as values, and the object its members' JSON
// text makes (which must be the same).
struct collecting_reader : json_dump_sink::element_reader
{
    std::vector<std::pair<std::string, json::object>> elements;
    std::vector<json::object> texts;
    std::vector<std::string> not_objects;
    std::string fail_key = "\x01";  // end() fails for the element of this key
    bool refuse_non_objects = false;
    int starts = 0;

    bool wants_text() const override { return true; }
    void start() override { ++starts; }
    void begin(std::string_view key) override
    {
        key_ = key;
        fields_.clear();
        joined_.clear();
    }
    bool field(const json_dump_sink::field& f) override
    {
        fields_[f.name] = f.value ? *f.value : json::value(f.string);
        joined_ += joined_.empty() ? "" : ",";
        joined_ += f.member_text;
        return f.name != "left_out";
    }
    fedora::error_code end(std::string_view text, std::string& why) override
    {
        if (key_ == fail_key) {
            why = "entry " + key_ + " is wrong";
            return make_error_code(errc::server_error);
        }
        // Each member's text, and the element's (without what field() left out), are JSON.
        auto members = json::parse("{" + joined_ + "}").as_object();
        members.erase("left_out");
        CHECK(json::parse(text) == members);
        elements.emplace_back(key_, fields_);
        texts.push_back(std::move(members));
        return {};
    }
    fedora::error_code not_an_object(std::string_view key, std::string& why) override
    {
        not_objects.emplace_back(key);
        if (refuse_non_objects) {
            why = "not an object";
            return make_error_code(errc::server_error);
        }
        return {};
    }

private:
    std::string key_;
    json::object fields_;
    std::string joined_;
};

struct collected
{
    std::shared_ptr<collecting_reader> reader = std::make_shared<collecting_reader>();
    json::value rest;
    fedora::error_code ec;
    std::string failure;
};

constexpr std::string_view data_member[] = {"data"};

// Feeds `text` in pieces of `piece` bytes.
collected stream(std::string_view text, std::size_t piece, std::vector<std::string_view> members = {"data"},
                 json_dump_sink::container kind = json_dump_sink::container::object)
{
    collected c;
    json_dump_sink sink(members, kind, c.reader);
    REQUIRE(sink.accept(json_header()));
    for (std::size_t i = 0; i < text.size() && !c.ec; i += piece)
        c.ec = sink.write(text.substr(i, piece));
    if (!c.ec)
        c.ec = sink.finish();
    c.failure = sink.failure();
    if (!c.ec)
        c.rest = sink.take_rest();
    return c;
}

const std::string dump = R"({"success": true, "tg_flash": null,
  "data": {"100001": {"username": "jdoe", "human_name": "J\u00f6hn \"D\" Doe\\\n\t\u0001\/", "alias_enabled": true,
                      "left_out": [1], "ssh_key": null, "nested": {"a": [1, 2.5, -3, 18446744073709551615, 1.5e-300]},
                      "n": -12345678901234, "big": 18446744073709551615, "d": 6.02214076e23, "f": false},
           "100002": {"username": "a-very-long-user-name-that-spans-pieces", "email": "x@example.org", "left_out": 0},
           "100003": 42, "100004": [{"x": 1}], "100005": {}},
  "after": {"data": [1, 2]}, "n": 7})";

} // namespace

TEST_CASE("json_dump_sink hands over each element field by field and keeps the rest, however the body is cut")
{
    const json::value whole = json::parse(dump);
    for (std::size_t piece : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(7), std::size_t(64),
                              dump.size()}) {
        CAPTURE(piece);
        auto c = stream(dump, piece);
        REQUIRE_MESSAGE(!c.ec, c.failure);
        const auto& got = *c.reader;
        REQUIRE(got.elements.size() == 3);
        std::size_t i = 0;
        for (const auto& [k, v] : whole.at("data").as_object()) {
            if (!v.is_object())
                continue;
            CAPTURE(std::string(k));
            CHECK(got.elements[i].first == std::string(k));
            CHECK(got.elements[i].second == v.as_object());
            json::object kept = v.as_object();  // the members' JSON text says the same
            kept.erase("left_out");
            CHECK(got.texts[i] == kept);
            ++i;
        }
        CHECK(got.not_objects == std::vector<std::string>{"100003", "100004"});
        json::object expected_rest = whole.as_object();
        expected_rest["data"] = json::object();
        CHECK(c.rest == json::value(expected_rest));
    }
}

TEST_CASE("json_dump_sink streams arrays and several members, and leaves other documents whole")
{
    const std::string list = R"({"people": [{"id": 1}, {"id": 2}], "unapproved_people": [{"id": 3}, "s"], "x": "y"})";
    auto c = stream(list, 5, {"people", "unapproved_people"}, json_dump_sink::container::array);
    REQUIRE(!c.ec);
    REQUIRE(c.reader->elements.size() == 3);
    CHECK(c.reader->elements[0].first.empty());
    CHECK(c.reader->elements[2].second.at("id") == 3);
    CHECK(c.reader->not_objects == std::vector<std::string>{""});
    CHECK(c.rest == json::parse(R"({"people": [], "unapproved_people": [], "x": "y"})"));

    // Without the member, or not an object at all: everything is the rest.
    auto other = stream(R"({"exc": "AuthError", "tg_flash": "no"})", 3);
    REQUIRE(!other.ec);
    CHECK(other.reader->elements.empty());
    CHECK(other.rest.at("exc") == "AuthError");
    auto array = stream(R"([{"data": {"a": {"b": 1}}}])", 4);
    REQUIRE(!array.ec);
    CHECK(array.reader->elements.empty());
    CHECK(array.rest == json::parse(R"([{"data": {"a": {"b": 1}}}])"));
    auto null_member = stream(R"({"data": null})", 1);
    REQUIRE(!null_member.ec);
    CHECK(null_member.rest.at("data").is_null());

    // A member of another kind than the one streamed stays in the rest, as it is.
    auto array_data = stream(R"({"data": [{"a": 1}], "x": 1})", 2);
    REQUIRE(!array_data.ec);
    CHECK(array_data.reader->elements.empty());
    CHECK(array_data.rest == json::parse(R"({"data": [{"a": 1}], "x": 1})"));
    // ... so when a parser would keep the last of two members of that name, it streams.
    auto kept_last = stream(R"({"data": [1], "data": {"k": {"a": 1}}})", 3);
    REQUIRE(!kept_last.ec);
    REQUIRE(kept_last.reader->elements.size() == 1);
    CHECK(kept_last.rest == json::parse(R"({"data": {}})"));
}

TEST_CASE("json_dump_sink holds no parser until an answer arrives, and is reused by the next")
{
    // A request waits in a pool's queue with its sink: a hundred thousand of them must cost
    // little (issue 6 asks for 2 KB per waiting call, the whole call included).
    static_assert(sizeof(json_dump_sink) <= 128);
    static constexpr std::string_view members[] = {"data"};
    auto reader = std::make_shared<collecting_reader>();
    json_dump_sink sink(members, json_dump_sink::container::object, reader);
    CHECK(sink.write("{}") == errc::invalid_argument);  // nothing accepted yet
    CHECK(sink.finish() == errc::invalid_argument);
    CHECK(sink.failure().empty());
    CHECK(sink.body().empty());
    CHECK(sink.take_rest().is_null());

    for (int answer = 0; answer < 2; ++answer) {  // a retried call's second answer
        REQUIRE(sink.accept(json_header()));
        CHECK(!sink.write(R"({"data": {"1": {"a": 1}}, "success": true})"));
        CHECK(!sink.finish());
        CHECK(sink.take_rest().at("success").as_bool());
    }
    CHECK(reader->starts == 2);  // each answer started afresh on the one parser
    REQUIRE(reader->elements.size() == 2);
    CHECK(reader->elements[0].first == "1");
    CHECK(reader->elements[1].first == "1");
}

TEST_CASE("json_dump_sink refuses a streamed member's name seen twice")
{
    for (std::string doc : {std::string(R"({"data": {"1": {}}, "data": {"2": {}}})"),
                            std::string(R"({"data": {"1": {}}, "x": 0, "data": null})")}) {
        CAPTURE(doc);
        for (std::size_t piece : {std::size_t(1), doc.size()}) {
            auto c = stream(doc, piece);
            CHECK(c.ec == errc::server_error);
            CHECK(c.failure == "unexpected answer: `data` twice");
        }
    }
}

TEST_CASE("json_dump_sink refuses what is not JSON, cut JSON, and too deep JSON; an element's error stops it")
{
    for (std::string bad : {std::string("<html>"), std::string(R"({"data": {"1": {"a": )"),
                            std::string(R"({"data": {"1": tru}})"), std::string(200, '['),
                            std::string(R"({"data": {"1": {}}} {"x": 1})")}) {
        CAPTURE(bad);
        auto c = stream(bad, 3);
        CHECK(c.ec == errc::server_error);
        CHECK(c.failure.find("not JSON") != std::string::npos);
    }

    auto reader = std::make_shared<collecting_reader>();
    reader->fail_key = "2";
    json_dump_sink sink(data_member, json_dump_sink::container::object, reader);
    REQUIRE(sink.accept(json_header()));
    CHECK(sink.write(R"({"data": {"1": {}, "2": {}, "3": {}}})") == errc::server_error);
    CHECK(sink.failure() == "entry 2 is wrong");
    CHECK(reader->elements.size() == 1);

    // So does a reader's refusal of an element that is not an object, however it is cut.
    for (std::string element : {std::string("7"), std::string(R"("seven")"), std::string("[[7]]")}) {
        CAPTURE(element);
        auto refusing = std::make_shared<collecting_reader>();
        refusing->refuse_non_objects = true;
        json_dump_sink s(data_member, json_dump_sink::container::object, refusing);
        REQUIRE(s.accept(json_header()));
        const std::string doc = R"({"data": {"1": {"a": 1}, "2": )" + element + R"(, "3": {}}})";
        fedora::error_code ec;
        for (std::size_t i = 0; i < doc.size() && !ec; i += 2)
            ec = s.write(std::string_view(doc).substr(i, 2));
        CHECK(ec == errc::server_error);
        CHECK(s.failure() == "not an object");
        CHECK(refusing->not_objects == std::vector<std::string>{"2"});
        CHECK(refusing->elements.size() == 1);
    }

    // Error statuses and non-JSON answers stay on the ordinary path; a new answer starts afresh.
    CHECK(!sink.accept(json_header(403)));
    auto html = json_header();
    html.set(boost::beast::http::field::content_type, "text/html");
    CHECK(!sink.accept(html));
    REQUIRE(sink.accept(json_header()));
    CHECK(!sink.write(R"({"data": {"1": {}}})"));
    CHECK(!sink.finish());
}

namespace {

// A reader that keeps every field: the sink copies each element's text from the body.
struct verbatim_reader : json_dump_sink::element_reader
{
    std::vector<std::string> texts;
    std::vector<json::object> fields;

    bool wants_text() const override { return true; }
    bool keeps_every_field() const override { return true; }
    void start() override
    {
        texts.clear();
        fields.clear();
    }
    void begin(std::string_view) override { fields.emplace_back(); }
    bool field(const json_dump_sink::field& f) override
    {
        CHECK(f.member_text.empty());
        fields.back()[f.name] = f.value ? *f.value : json::value(f.string);
        return true;
    }
    fedora::error_code end(std::string_view text, std::string&) override
    {
        texts.emplace_back(text);
        return {};
    }
};

// Strings full of what a scan for brackets must not take for structure: brackets, escaped
// quotes, runs of backslashes before a quote, \u escapes; long ones cross 64-byte blocks.
std::string tricky_people(int count)
{
    std::string doc = R"({"before": {"x": [{"not": "an element"}, {"}": "{"}]}, "people": [)";
    for (int i = 0; i < count; ++i) {
        std::string backslashes(static_cast<std::size_t>(i % 6) * 2, '\\');  // even runs: literal backslashes
        doc += i ? ",\n  " : "\n  ";
        doc += R"({"id": )" + std::to_string(i) + R"(, "username": "u{)" + std::to_string(i) + R"(}",)";
        doc += R"( "note": "a \"quoted\" [brace] } { )" + backslashes + R"(\" and )" + backslashes + R"(",)";
        doc += R"( "long": ")" + std::string(static_cast<std::size_t>(i * 7 % 150), i % 2 ? '}' : ']') + R"(\\",)";
        doc += R"( "nested": {"a": [{}, [], {"b": "\u007b\u007d"}], "c": {"d": null}}, "e": "\\\\\\", "f": true})";
    }
    doc += R"(], "after": [[{"y": "}"}]], "tail": {"z": {"w": 1}}})";
    return doc;
}

} // namespace

TEST_CASE("json_dump_sink copies each element's own text when the reader keeps every field, however the body is cut")
{
    const std::string doc = tricky_people(40);
    const json::value whole = json::parse(doc);
    const auto& people = whole.at("people").as_array();
    static constexpr std::string_view people_member[] = {"people"};
    for (std::size_t piece : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(13), std::size_t(63),
                              std::size_t(64), std::size_t(65), std::size_t(100), std::size_t(129),
                              std::size_t(1000), doc.size()}) {
        CAPTURE(piece);
        auto reader = std::make_shared<verbatim_reader>();
        json_dump_sink sink(people_member, json_dump_sink::container::array, reader);
        REQUIRE(sink.accept(json_header()));
        fedora::error_code ec;
        for (std::size_t i = 0; i < doc.size() && !ec; i += piece)
            ec = sink.write(std::string_view(doc).substr(i, piece));
        if (!ec)
            ec = sink.finish();
        REQUIRE_MESSAGE(!ec, sink.failure());
        REQUIRE(reader->texts.size() == people.size());
        for (std::size_t i = 0; i < people.size(); ++i) {
            CAPTURE(i);
            // The text is the element's bytes in the body, exactly.
            const auto at = doc.find(R"({"id": )" + std::to_string(i) + ",");
            REQUIRE(at != std::string::npos);
            CHECK(reader->texts[i] == doc.substr(at, reader->texts[i].size()));
            CHECK(json::parse(reader->texts[i]) == people[i]);
            CHECK(reader->fields[i] == people[i].as_object());
        }
        json::object rest = whole.as_object();
        rest["people"] = json::array();
        CHECK(sink.take_rest() == json::value(rest));
    }
}

TEST_CASE("user_data's flat streaming path reads every entry as the whole-body parse does")
{
    const std::string doc = R"({"success": true, "data": {
        "1": {"username": "a\u00e9", "password": "*", "human_name": null, "ssh_key": "k", "email": 5,
              "alias_enabled": true, "extra": {"nested": ["x", {"y": 1}]}},
        "2": 17,
        "3": {"username": "b", "alias_enabled": "yes", "email": true, "human_name": 2.5},
        "4": {"username": "a-very-long-user-name-to-be-cut-into-pieces", "alias_enabled": false}}})";
    fedora::fas::raw_reply dom_reply;
    dom_reply.body = json::parse(doc);
    dom_reply.status = 200;
    fedora::fas::ops::user_data dom_op;
    fedora::fas::ops::user_data::result_type expected;
    REQUIRE(!dom_op.parse(dom_reply, expected));
    REQUIRE(expected.size() == 3);

    for (std::size_t piece : {std::size_t(1), std::size_t(5), doc.size()}) {
        CAPTURE(piece);
        fedora::fas::ops::user_data op;
        auto req = op.build();
        REQUIRE(req.sink);
        REQUIRE(req.sink->accept(json_header()));
        for (std::size_t i = 0; i < doc.size(); i += piece)
            REQUIRE(!req.sink->write(std::string_view(doc).substr(i, piece)));
        REQUIRE(!req.sink->finish());
        fedora::fas::raw_reply r;
        r.body = req.sink->take_rest();
        r.streamed = true;
        fedora::fas::ops::user_data::result_type got;
        REQUIRE(!op.parse(r, got));
        REQUIRE(got.size() == expected.size());
        for (const auto& entry : expected) {
            const auto& id = entry.first;  // (clang 14 cannot capture a structured binding)
            const auto& e = entry.second;
            CAPTURE(id);
            REQUIRE(got.count(id) == 1);
            const auto& g = got.at(id);
            CHECK(g.username == e.username);
            CHECK(g.password == e.password);
            CHECK(g.human_name == e.human_name);
            CHECK(g.ssh_key == e.ssh_key);
            CHECK(g.email == e.email);
            CHECK(g.alias_enabled == e.alias_enabled);
        }
    }
}

namespace {

void check_same_person(const fedora::fas::person& got, const fedora::fas::person& want)
{
    CHECK(got.id == want.id);
    CHECK(got.username == want.username);
    CHECK(got.human_name == want.human_name);
    CHECK(got.email == want.email);
    CHECK(got.ircnick == want.ircnick);
    CHECK(got.status == want.status);
    CHECK(got.creation == want.creation);
    CHECK(got.gpg_keyid == want.gpg_keyid);
    CHECK(got.ssh_key == want.ssh_key);
    CHECK(got.password == want.password);
    CHECK(got.locale == want.locale);
    CHECK(got.timezone == want.timezone);
    CHECK(got.privacy == want.privacy);
    CHECK(got.bugzilla_email == want.bugzilla_email);
    REQUIRE(got.approved_memberships.size() == want.approved_memberships.size());
    for (std::size_t i = 0; i < want.approved_memberships.size(); ++i) {
        CHECK(got.approved_memberships[i].name == want.approved_memberships[i].name);
        CHECK(got.approved_memberships[i].raw == want.approved_memberships[i].raw);
    }
    REQUIRE(got.roles.size() == want.roles.size());
    for (std::size_t i = 0; i < want.roles.size(); ++i)
        CHECK(got.roles[i].raw == want.roles[i].raw);
    CHECK(got.raw == want.raw);
}

// An operation's answer streamed in pieces through the operation's own sink; `cut_first`
// first feeds the start of another answer, as a call retried after its answer broke off would.
template <class Op>
fedora::error_code stream_answer(const Op& op, const std::string& doc, std::size_t piece,
                                 typename Op::result_type& out, std::string& failure, bool cut_first = false)
{
    auto req = op.build();
    REQUIRE(req.sink);
    if (cut_first) {
        REQUIRE(req.sink->accept(json_header()));
        CHECK(!req.sink->write(R"({"person": {"id": 99, "username": "ghost"}, "people": [{"id": 99, "username": "ghost", "email": "g@x"}, {"id": 98, "us)"));
    }
    REQUIRE(req.sink->accept(json_header()));
    fedora::error_code ec;
    for (std::size_t i = 0; i < doc.size() && !ec; i += piece)
        ec = req.sink->write(std::string_view(doc).substr(i, piece));
    if (!ec)
        ec = req.sink->finish();
    failure = req.sink->failure();
    if (ec)
        return ec;
    fedora::fas::raw_reply r;
    r.body = req.sink->take_rest();
    r.status = 200;
    r.streamed = true;
    return op.parse(r, out);
}

} // namespace

TEST_CASE("read_fas_answer takes a streamed answer's rest over with the arena it was built in")
{
    auto reader = std::make_shared<collecting_reader>();
    json_dump_sink sink(data_member, json_dump_sink::container::object, reader);
    REQUIRE(sink.accept(json_header()));
    REQUIRE(!sink.write(dump));
    REQUIRE(!sink.finish());
    fedora::http::response resp;
    resp.message.result(200);
    resp.body_streamed = true;
    fedora::fas::raw_reply r;
    REQUIRE(!fedora::fas::detail::read_fas_answer(resp, r, &sink));
    CHECK(r.streamed);
    json::object want = json::parse(dump).as_object();
    want["data"] = json::object();  // emptied of the elements the reader took
    CHECK(r.body == want);
    // Moved into the reply, not copied node by node into the default heap.
    CHECK(r.body.storage().get() != json::storage_ptr().get());
}

TEST_CASE("people_by_key streamed reads every entry as the whole-body parse does, and keeps each record as text")
{
    const std::string doc = R"({"success": true, "people": [
        {"id": 30, "username": "zed", "email": "z@example.org", "human_name": "Z \"the\" \u00e9\\\n",
         "privacy": true, "status": "active", "creation": "2009-02-01 00:00:00+00:00", "ircnick": null,
         "latitude": 1.5e2, "certificate_serial": 18446744073709551615, "locale": "C", "timezone": "UTC",
         "approved_memberships": [{"id": 5, "name": "packager", "approved_roles": []}],
         "roles": [{"person_id": 30, "group_id": 5, "role_type": "user"}]},
        {"id": 10, "username": "amy", "email": "a@example.org", "password": "*", "gpg_keyid": "ABCD",
         "ssh_key": "ssh-rsa AAAA\tB", "bugzilla_email": "bz@example.org"},
        {"id": "20", "username": "bob", "email": "b@example.org", "human_name": 7},
        {"id": 10, "username": "amy", "email": "amy-again@example.org"}],
      "unapproved_people": [{"id": 40, "username": "cy", "email": "c@example.org", "privacy": "yes"}]})";

    fedora::fas::raw_reply dom_reply;
    dom_reply.body = json::parse(doc);
    dom_reply.status = 200;
    const std::vector<std::vector<std::string>> field_lists = {
        {}, {"username", "human_name"}, {"id", "email", "bugzilla_email"}};
    for (const std::string key : {"id", "username", "email"}) {
        for (const auto& fields : field_lists) {
            CAPTURE(key);
            CAPTURE(fields.size());
            fedora::fas::ops::people_by_key op{key, "*", fields};
            fedora::fas::raw_reply dom_copy = dom_reply;
            fedora::fas::people_map expected;
            REQUIRE(!op.parse(dom_copy, expected));
            for (std::size_t piece : {std::size_t(1), std::size_t(7), doc.size()}) {
                for (bool cut_first : {false, true}) {
                    CAPTURE(piece);
                    CAPTURE(cut_first);
                    fedora::fas::people_map got;
                    std::string failure;
                    REQUIRE_MESSAGE(!stream_answer(op, doc, piece, got, failure, cut_first), failure);
                    REQUIRE(got.index() == expected.index());
                    std::visit(
                        [&](const auto& want) {
                            const auto& have = std::get<std::decay_t<decltype(want)>>(got);
                            REQUIRE(have.size() == want.size());
                            for (const auto& entry : want) {
                                REQUIRE(have.count(entry.first) == 1);
                                check_same_person(have.at(entry.first), entry.second);
                            }
                        },
                        expected);
                }
            }
        }
    }
    // The last of a key seen twice wins, whatever the order; unrequested fields stay out of raw.
    fedora::fas::people_map got;
    std::string failure;
    REQUIRE(!stream_answer(fedora::fas::ops::people_by_key{"id", "*", {"email"}}, doc, 5, got, failure));
    const auto& by_id = std::get<fedora::fas::people_by_id_map>(got);
    CHECK(by_id.size() == 4);  // 10, 30, 40, and "20" (not an integer) as 0
    CHECK(by_id.at(10).email == "amy-again@example.org");
    CHECK(by_id.at(0).email == "b@example.org");
    CHECK_FALSE(by_id.at(10).raw.contains("id"));
    CHECK(by_id.at(10).raw.object() == json::parse(R"({"username":"amy","email":"amy-again@example.org"})"));
}

TEST_CASE("people_by_key streamed refuses what the whole-body parse refuses, with the same words")
{
    for (std::string bad : {std::string(R"({"people": [{"username": "a"}, 7]})"),
                            std::string(R"({"people": [{"username": "a"}, {"email": "x"}]})"),
                            std::string(R"({"people": [], "unapproved_people": [[{"username": "a"}]]})")}) {
        CAPTURE(bad);
        const fedora::fas::ops::people_by_key op{"username", "*", {}};
        fedora::fas::raw_reply dom;
        dom.body = json::parse(bad);
        dom.status = 200;
        fedora::fas::people_map out;
        CHECK(op.parse(dom, out) == errc::server_error);
        std::string failure;
        CHECK(stream_answer(op, bad, 3, out, failure) == errc::server_error);
        CHECK(failure == dom.diag.message);
    }
}

TEST_CASE("person_by_id and the other one-person reads stream the person as the whole-body parse reads it")
{
    const std::string person = R"({"id": 100068, "username": "jdoe", "human_name": "J\u00f6hn \"D\"", "email": "jdoe@example.org",
        "privacy": false, "status": "active", "creation": "2008-03-14 00:00:00+00:00", "gpg_keyid": null,
        "latitude": 1.25, "group_roles": {"packager": {"role_type": "user"}},
        "approved_memberships": [{"id": 5, "name": "packager"}], "roles": [{"group_id": 5, "role_type": "user"}]})";
    const std::vector<std::string> answers = {
        R"({"success": true, "person": )" + person + R"(, "tg_flash": null})",
        // The legacy top-level membership lists replace the person's own.
        R"({"person": )" + person + R"(, "success": true, "approved": [{"id": 7, "name": "docs"}], "unapproved": []})",
        R"({"success": true, "person": {}, "approved": [{"id": 7, "name": "docs"}]})",
        R"({"success": true, "person": {"username": "x", "bugzilla_email": "bz@x"}})",
        R"({"success": false, "tg_flash": "nope"})",
        R"({"success": true, "person": null})",
        R"({"success": true, "person": [{"username": "x"}]})",
        R"({"success": true})",
    };
    const auto check = [&](const auto& op, const std::string& doc) {
        using op_type = std::decay_t<decltype(op)>;
        fedora::fas::raw_reply dom;
        dom.body = json::parse(doc);
        dom.status = 200;
        typename op_type::result_type want{};
        const auto want_ec = op.parse(dom, want);
        for (std::size_t piece : {std::size_t(1), std::size_t(3), doc.size()}) {
            for (bool cut_first : {false, true}) {
                CAPTURE(piece);
                CAPTURE(cut_first);
                typename op_type::result_type got{};
                std::string failure;
                CHECK(stream_answer(op, doc, piece, got, failure, cut_first) == want_ec);
                if constexpr (std::is_same_v<typename op_type::result_type, fedora::fas::person>) {
                    check_same_person(got, want);
                } else {
                    REQUIRE(got.has_value() == want.has_value());
                    if (want)
                        check_same_person(*got, *want);
                }
            }
        }
    };
    for (const auto& doc : answers) {
        CAPTURE(doc);
        check(fedora::fas::ops::person_by_id{.person_id = 100068}, doc);
        check(fedora::fas::ops::person_by_username{.username = "jdoe"}, doc);
        check(fedora::fas::ops::proxy_person_by_id{.person_id = 100068}, doc);
        check(fedora::fas::ops::get_user_info{}, doc);
    }

    // Its record is the person's object as the server sent it, kept as text until read.
    fedora::fas::ops::person_by_username::result_type got;
    std::string failure;
    REQUIRE(!stream_answer(fedora::fas::ops::person_by_username{.username = "jdoe"}, answers[0], 4, got, failure));
    REQUIRE(got);
    CHECK(got->raw.object() == json::parse(person));
    CHECK(got->approved_memberships.at(0).name == "packager");

    // "person" twice: a parser would keep the second, but the first went to the reader.
    fedora::fas::ops::person_by_id::result_type twice;
    CHECK(stream_answer(fedora::fas::ops::person_by_id{.person_id = 1}, R"({"person": {"id": 1}, "person": {"id": 2}})", 5,
                        twice, failure) == errc::server_error);
    CHECK(failure == "unexpected answer: `person` twice");
}
