// fedora::record: the server's object a typed result keeps, parsed or kept as text until read.
#include "../../lib/detail/record_access.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

namespace json = boost::json;
using fedora::record;
using fedora::detail::record_access;

TEST_CASE("a record kept as text reads as the object it is, parsed once and shared by its copies")
{
    const std::string text = R"({"username":"jdoe","id":100001,"privacy":false,"x":{"a":[1,2.5,null]},"e":"\u00e9\n"})";
    const record lazy = record_access::from_text(text);
    const record parsed(json::parse(text).as_object());

    CHECK(lazy == parsed);
    CHECK(lazy.at("username") == "jdoe");
    CHECK(lazy.if_contains("id")->as_int64() == 100001);
    CHECK(lazy.if_contains("missing") == nullptr);
    CHECK(lazy.contains("x"));
    CHECK(lazy.size() == 5);
    CHECK(!lazy.empty());
    std::size_t members = 0;
    for (const auto& m : lazy)
        members += m.key().empty() ? 0 : 1;
    CHECK(members == 5);

    // Parsed once: every read, and every copy's, is the same object.
    const record copy = lazy;
    CHECK(&copy.object() == &lazy.object());
    CHECK(&lazy.object() == &lazy.object());

    // A copy of the text, made in the record's own allocation, reads the same; the text it
    // was copied from can go.
    std::string source = text;
    const record copied = record_access::from_text_copy(source);
    source.assign(source.size(), 'x');
    CHECK(copied == parsed);
    CHECK(record_access::from_text_copy(R"({"a":[{"b":"c"}]})").at("a").at(0).at("b") == "c");

    CHECK(record().empty());
    CHECK(record_access::from_text("{}").empty());
    CHECK(record() == record_access::from_text("{}"));
}

TEST_CASE("a record's move assignment takes the object over in the memory it lives in")
{
    json::monotonic_resource arena;
    json::object in_arena{json::storage_ptr(&arena)};
    in_arena["name"] = "a string long enough not to fit in place";
    const void* node = in_arena.at("name").as_string().data();

    record r(std::move(in_arena));
    record target;  // default memory: a json::object move assignment would copy
    target = std::move(r);
    CHECK(target.object().storage().get() == &arena);
    CHECK(static_cast<const void*>(target.at("name").as_string().data()) == node);

    record lazy = record_access::from_text(R"({"a":1})");
    target = std::move(lazy);
    CHECK(target.at("a") == 1);
}
