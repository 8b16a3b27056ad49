#include <fedora/http/encoding.hpp>

#include <boost/url/parse.hpp>
#include <doctest/doctest.h>

#include <string>

using fedora::http::form;

namespace {
const std::string nasty_values[] = {
    std::string("a\r\nX-Injected: 1"),
    std::string("nul\0byte", 8),
    "a/b/../c",
    "...",
    ".hidden",
    "100%",
    "?x=1#frag",
    "sp ace+plus&amp=eq",
    "\xc3\xa9l\xc3\xa8ve \xe2\x9c\x93",
    "\xff\xfe invalid utf-8",
    std::string(10 * 1024, 'x') + "&=%",
};
}

TEST_CASE("form encoding round-trips any bytes")
{
    for (const auto& v : nasty_values) {
        form f;
        f.add("key one", v).add("fields", "a").add("fields", "b");
        const auto body = f.encode();
        CHECK(body.find('\r') == std::string::npos);
        CHECK(body.find('\n') == std::string::npos);
        CHECK(body.find('\0') == std::string::npos);
        CHECK(body.find(' ') == std::string::npos);
        auto back = form::decode(body);
        REQUIRE(back.fields().size() == 3);
        CHECK(back.fields()[0].first == "key one");
        CHECK(back.fields()[0].second == v);
        CHECK(back.fields()[2].second == "b");
    }
}

TEST_CASE("form encoding matches python's urlencode for plain values")
{
    form f;
    f.add("user_name", "jdoe").add("password", "p w+d").add("login", "Login");
    CHECK(f.encode() == "user_name=jdoe&password=p+w%2Bd&login=Login");
    CHECK(form{}.encode().empty());
}

TEST_CASE("a path segment stays one segment")
{
    auto base = boost::urls::parse_uri("https://fas.example/accounts/config/list").value();
    for (const auto& v : nasty_values) {
        boost::urls::url u(base);
        REQUIRE(!fedora::http::append_path_segment(u, v));
        // Exactly one more segment, which decodes back to the value.
        auto segs = u.segments();
        REQUIRE(segs.size() == 4);
        CHECK(std::string(segs.back()) == v);
        CHECK(!u.has_query());
        CHECK(!u.has_fragment());
        auto enc = std::string(u.encoded_path());
        CHECK(enc.find("/../") == std::string::npos);
        CHECK(enc.find('\r') == std::string::npos);
        CHECK(enc.size() >= std::string("/accounts/config/list/").size());
        CHECK(enc.rfind("/accounts/config/list/", 0) == 0);
    }
}

TEST_CASE("dot and empty segments are refused, so nothing climbs out of the base path")
{
    boost::urls::url u = boost::urls::parse_uri("https://h/accounts/config/list").value();
    for (const char* bad : {"..", ".", ""}) {
        CHECK(fedora::http::append_path_segment(u, bad) == fedora::errc::invalid_argument);
        CHECK(u.encoded_path() == "/accounts/config/list");
    }
    CHECK(!fedora::http::append_path_segment(u, "a/../.."));
    CHECK(u.encoded_path() == "/accounts/config/list/a%2F..%2F..");
    // The string form refuses the same segments and leaves the path as it was.
    std::string path = "config/list/";
    for (const char* bad : {"..", ".", ""}) {
        CHECK(fedora::http::append_encoded_segment(path, bad) == fedora::errc::invalid_argument);
        CHECK(path == "config/list/");
    }
    CHECK(!fedora::http::append_encoded_segment(path, "../x y"));
    CHECK(path == "config/list/..%2Fx%20y");
}

TEST_CASE("origin and redaction")
{
    auto u = boost::urls::parse_uri("https://user:secret@fas.example/accounts/x?password=p#f").value();
    CHECK(fedora::http::origin_of(u) == "https://fas.example:443");
    CHECK(fedora::http::redact_url(u) == "https://fas.example/accounts/x");
    auto v = boost::urls::parse_uri("http://127.0.0.1:8080/").value();
    CHECK(fedora::http::origin_of(v) == "http://127.0.0.1:8080");
    auto j = fedora::http::join(boost::urls::parse_uri("http://h/accounts/").value(), "/json/user_id");
    CHECK(j.buffer() == "http://h/accounts/json/user_id");
}
