// A record as the server sent it: the JSON object a typed result was read from, so fields
// the typed model does not name (and fields a newer server adds) stay reachable.
//
// A record may hold the object itself, or JSON text it parses the first time it is looked
// at, once, safely from any number of threads. The answers the SDK reads as they stream in
// (people_by_key's dump, the one-person reads) keep text: most callers never look at `raw`,
// and building the object of every record was a third of the cost of reading a dump and
// the largest part of a person_by_id call.
#pragma once

#include <boost/json/object.hpp>

#include <cstddef>
#include <memory>
#include <string_view>

namespace fedora {

namespace detail {
struct record_access;
}

class record
{
public:
    record() = default;
    // Implicit: a typed result is built from the object it was read from.
    record(boost::json::object parsed) noexcept : parsed_(std::move(parsed)) {}

    record(const record&) = default;
    record(record&&) noexcept = default;
    record& operator=(const record&) = default;
    // Takes the other record's object over whatever memory it lives in. (A move assignment
    // of a boost::json::object between different memory resources copies it instead.)
    record& operator=(record&& other) noexcept;

    // The object. Reading a record kept as text parses it now if no one has; that can only
    // fail by running out of memory (std::bad_alloc).
    const boost::json::object& object() const;

    // Reading the record as the object it is.
    const boost::json::value* if_contains(std::string_view key) const { return object().if_contains(key); }
    const boost::json::value& at(std::string_view key) const { return object().at(key); }
    bool contains(std::string_view key) const { return object().contains(key); }
    bool empty() const { return object().empty(); }
    std::size_t size() const { return object().size(); }
    boost::json::object::const_iterator begin() const { return object().begin(); }
    boost::json::object::const_iterator end() const { return object().end(); }

    friend bool operator==(const record& a, const record& b) { return a.object() == b.object(); }

private:
    friend struct detail::record_access;
    struct text_form;

    boost::json::object parsed_;
    std::shared_ptr<text_form> text_;  // shared by copies: it never changes once parsed
};

} // namespace fedora
