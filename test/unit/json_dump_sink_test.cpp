// The streaming reader of FAS dumps: elements handed over one at a time whatever way the
// body is cut into pieces, the rest of the answer kept, bad input refused.
#include "../../lib/fas/json_dump_sink.hpp"

#include <fedora/fas/operations.hpp>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <map>

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

struct collected
{
    std::vector<std::pair<std::string, json::value>> elements;
    json::value rest;
    fedora::error_code ec;
    std::string failure;
};

// Feeds `text` in pieces of `piece` bytes.
collected stream(std::string_view text, std::size_t piece, std::vector<std::string> members = {"data"})
{
    collected c;
    json_dump_sink sink(std::move(members), [&](std::string_view key, const json::value& v, std::string&) {
        c.elements.emplace_back(std::string(key), json::value(v, json::storage_ptr()));
        return fedora::error_code{};
    });
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
  "data": {"100001": {"username": "jdoe", "human_name": "J\u00f6hn \"D\" Doe", "alias_enabled": true,
                      "ssh_key": null, "nested": {"a": [1, 2.5, -3, 18446744073709551615]}},
           "100002": {"username": "a-very-long-user-name-that-spans-pieces", "email": "x@example.org"},
           "100003": 42},
  "after": {"data": [1, 2]}, "n": 7})";

} // namespace

TEST_CASE("json_dump_sink hands over each element and keeps the rest, however the body is cut")
{
    const json::value whole = json::parse(dump);
    for (std::size_t piece : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(7), std::size_t(64),
                              dump.size()}) {
        CAPTURE(piece);
        auto c = stream(dump, piece);
        REQUIRE_MESSAGE(!c.ec, c.failure);
        REQUIRE(c.elements.size() == 3);
        const auto& data = whole.at("data").as_object();
        std::size_t i = 0;
        for (const auto& [k, v] : data) {
            CHECK(c.elements[i].first == std::string(k));
            CHECK(c.elements[i].second == v);
            ++i;
        }
        json::object expected_rest = whole.as_object();
        expected_rest["data"] = json::object();
        CHECK(c.rest == json::value(expected_rest));
    }
}

TEST_CASE("json_dump_sink streams arrays and several members, and leaves other documents whole")
{
    const std::string list = R"({"people": [{"id": 1}, {"id": 2}], "unapproved_people": [{"id": 3}], "x": "y"})";
    auto c = stream(list, 5, {"people", "unapproved_people"});
    REQUIRE(!c.ec);
    REQUIRE(c.elements.size() == 3);
    CHECK(c.elements[0].first.empty());
    CHECK(c.elements[2].second.at("id") == 3);
    CHECK(c.rest == json::parse(R"({"people": [], "unapproved_people": [], "x": "y"})"));

    // Without the member, or not an object at all: everything is the rest.
    auto other = stream(R"({"exc": "AuthError", "tg_flash": "no"})", 3);
    REQUIRE(!other.ec);
    CHECK(other.elements.empty());
    CHECK(other.rest.at("exc") == "AuthError");
    auto array = stream(R"([{"data": {"a": 1}}])", 4);
    REQUIRE(!array.ec);
    CHECK(array.elements.empty());
    CHECK(array.rest == json::parse(R"([{"data": {"a": 1}}])"));
    auto null_member = stream(R"({"data": null})", 1);
    REQUIRE(!null_member.ec);
    CHECK(null_member.rest.at("data").is_null());
}

TEST_CASE("json_dump_sink refuses what is not JSON, cut JSON, and too deep JSON; an element's error stops it")
{
    for (std::string bad : {std::string("<html>"), std::string(R"({"data": {"1": {"a": )"),
                            std::string(R"({"data": {"1": tru}})"), std::string(200, '[')}) {
        CAPTURE(bad);
        auto c = stream(bad, 3);
        CHECK(c.ec == errc::server_error);
        CHECK(c.failure.find("not JSON") != std::string::npos);
    }

    json_dump_sink sink({"data"}, [](std::string_view key, const json::value&, std::string& why) {
        if (key == "2") {
            why = "entry 2 is wrong";
            return make_error_code(errc::server_error);
        }
        return fedora::error_code{};
    });
    REQUIRE(sink.accept(json_header()));
    CHECK(sink.write(R"({"data": {"1": {}, "2": {}, "3": {}}})") == errc::server_error);
    CHECK(sink.failure() == "entry 2 is wrong");

    // Error statuses and non-JSON answers stay on the ordinary path; a new answer starts afresh.
    CHECK(!sink.accept(json_header(403)));
    auto html = json_header();
    html.set(boost::beast::http::field::content_type, "text/html");
    CHECK(!sink.accept(html));
    REQUIRE(sink.accept(json_header()));
    CHECK(!sink.write(R"({"data": {"1": {}}})"));
    CHECK(!sink.finish());
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
