#include "json_dump_sink.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/memory_resource.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace fedora::fas::detail {

namespace json = boost::json;
namespace bhttp = boost::beast::http;

namespace {

// The arena a dump's elements are built in: bump allocation over 64 KB chunks from malloc.
// monotonic_resource doubles its blocks without bound, so a big answer ends in blocks of
// tens of MB that malloc maps and unmaps: every answer faulted its memory in anew (three
// times the page faults of the DOM path). Chunks below malloc's mmap threshold are reused
// by the next answer instead.
class chunk_arena final : public json::memory_resource
{
public:
    chunk_arena() = default;
    chunk_arena(const chunk_arena&) = delete;
    chunk_arena& operator=(const chunk_arena&) = delete;
    ~chunk_arena() override
    {
        for (void* c : chunks_)
            std::free(c);
    }

private:
    static constexpr std::size_t chunk_size = 64 * 1024 - 64;  // with malloc's header, 64 KB

    void* take(std::size_t n)
    {
        chunks_.reserve(chunks_.size() + 1);  // so that a throw below leaks nothing
        void* p = std::malloc(n);
        if (!p)
            throw std::bad_alloc();
        chunks_.push_back(p);
        return p;
    }

    void* do_allocate(std::size_t n, std::size_t align) override
    {
        if (align > alignof(std::max_align_t))
            throw std::bad_alloc();  // Boost.JSON never asks for more than malloc gives
        const std::size_t at = (used_ + align - 1) & ~(align - 1);
        if (current_ && at + n <= chunk_size) {
            used_ = at + n;
            return current_ + at;
        }
        if (n > chunk_size / 4)
            return take(n);  // a big string or table: its own allocation
        current_ = static_cast<char*>(take(chunk_size));
        used_ = n;
        return current_;
    }

    void do_deallocate(void*, std::size_t, std::size_t) override {}

    bool do_is_equal(const json::memory_resource& other) const noexcept override { return this == &other; }

    std::vector<void*> chunks_;
    char* current_ = nullptr;
    std::size_t used_ = 0;
};

json::parse_options dump_options()
{
    json::parse_options opt;
    opt.max_depth = 64;  // as for every other FAS answer
    return opt;
}

} // namespace

json_dump_sink::json_dump_sink(std::vector<std::string> members, element_handler on_element)
    : members_(std::move(members)),
      on_element_(std::move(on_element)),
      parser_(dump_options(), *this)
{
}

json_dump_sink::json_dump_sink(std::vector<std::string> members, std::shared_ptr<flat_reader> reader)
    : members_(std::move(members)),
      flat_(std::move(reader)),
      parser_(dump_options(), *this)
{
}

json_dump_sink::handler::handler(json_dump_sink& s) : sink(s) {}

// Directly inside one of the streamed member's elements, on the flat path.
bool json_dump_sink::handler::flat_element() const { return sink.in_flat_; }

void json_dump_sink::handler::flat_text(std::string_view s)
{
    if (sink.skip_depth_ == 0)
        sink.flat_->text(sink.field_, s);
}

bool json_dump_sink::accept(const bhttp::response_header<>& header)
{
    // Error pages and redirects keep the ordinary path, which reports them with a snippet.
    if (header.result_int() != 200)
        return false;
    const auto type = header[bhttp::field::content_type];
    if (type.find("json") == boost::beast::string_view::npos)
        return false;
    parser_.reset();
    rest_.reset();
    if (on_element_)
        elements_storage_ = json::make_shared_resource<chunk_arena>();
    depth_ = 0;
    in_member_ = in_element_ = in_flat_ = false;
    skip_depth_ = 0;
    top_key_.clear();
    element_key_.clear();
    element_error_ = {};
    failure_.clear();
    return true;
}

error_code json_dump_sink::write(std::string_view data)
{
    error_code ec;
    parser_.write_some(true, data.data(), data.size(), ec);
    if (element_error_)
        return element_error_;
    if (ec) {
        failure_ = "the answer is not JSON: " + ec.message();
        return make_error_code(errc::server_error);
    }
    return {};
}

error_code json_dump_sink::finish()
{
    error_code ec;
    parser_.write_some(false, nullptr, 0, ec);
    if (element_error_)
        return element_error_;
    if (ec || !parser_.done()) {
        failure_ = "the answer is not JSON: " + (ec ? ec.message() : std::string("incomplete"));
        return make_error_code(errc::server_error);
    }
    return {};
}

std::string json_dump_sink::failure() const { return failure_; }

json::value json_dump_sink::take_rest() { return rest_.release(); }

// Where the value now starting goes: a new element when it sits directly in the streamed
// member, the element being built, or the rest of the answer.
json::value_stack& json_dump_sink::handler::target()
{
    if (sink.in_member_ && !sink.in_element_ && sink.depth_ == 2) {
        sink.in_element_ = true;
        sink.element_.reset(sink.elements_storage_);
    }
    return sink.in_element_ ? sink.element_ : sink.rest_;
}

bool json_dump_sink::handler::deliver(error_code& ec)
{
    json::value element = sink.element_.release();
    sink.in_element_ = false;
    if (!sink.on_element_)
        return true;  // the flat path skips elements that are not objects
    sink.element_error_ = sink.on_element_(sink.element_key_, element, sink.failure_);
    sink.element_key_.clear();
    if (sink.element_error_) {
        ec = sink.element_error_;
        return false;
    }
    return true;
}

bool json_dump_sink::handler::scalar_done(error_code& ec)
{
    if (sink.in_element_ && sink.depth_ == 2)
        return deliver(ec);
    return true;
}

bool json_dump_sink::handler::begin_container(error_code&)
{
    if (sink.in_flat_) {
        ++sink.skip_depth_;  // a nested value in a flat element: not read
        ++sink.depth_;
        return true;
    }
    if (sink.flat_ && sink.in_member_ && sink.depth_ == 2) {
        sink.in_flat_ = true;
        sink.flat_->begin(sink.element_key_);
        sink.element_key_.clear();
        ++sink.depth_;
        return true;
    }
    if (!sink.in_member_ && sink.depth_ == 1 &&
        std::find(sink.members_.begin(), sink.members_.end(), sink.top_key_) != sink.members_.end()) {
        sink.in_member_ = true;
    } else {
        target();  // opens an element if this container is one
    }
    ++sink.depth_;
    return true;
}

bool json_dump_sink::handler::end_container(bool object, std::size_t n, error_code& ec)
{
    --sink.depth_;
    if (sink.in_flat_) {
        if (sink.skip_depth_ > 0) {
            if (--sink.skip_depth_ == 0)
                sink.flat_->text(sink.field_, "");
            return true;
        }
        sink.in_flat_ = false;
        sink.flat_->end();
        return true;
    }
    if (sink.in_member_ && !sink.in_element_ && sink.depth_ == 1) {
        // The streamed member itself: what it held has been handed over already.
        sink.in_member_ = false;
        sink.top_key_.clear();  // a second member of that name is kept, not streamed
        if (object)
            sink.rest_.push_object(0);
        else
            sink.rest_.push_array(0);
        return true;
    }
    auto& st = sink.in_element_ ? sink.element_ : sink.rest_;
    if (object)
        st.push_object(n);
    else
        st.push_array(n);
    return scalar_done(ec);
}

bool json_dump_sink::handler::on_key_part(json::string_view s, std::size_t n, error_code&)
{
    const bool first_piece = n == s.size();
    if (flat_element()) {
        if (sink.skip_depth_ == 0) {
            if (first_piece)
                sink.field_.clear();
            sink.field_.append(s.data(), s.size());
        }
        return true;
    }
    if (sink.in_member_ && !sink.in_element_ && sink.depth_ == 2) {
        if (first_piece)
            sink.element_key_.clear();
        sink.element_key_.append(s.data(), s.size());
        return true;
    }
    if (!sink.in_member_ && sink.depth_ == 1) {
        if (first_piece)
            sink.top_key_.clear();
        sink.top_key_.append(s.data(), s.size());
    }
    (sink.in_element_ ? sink.element_ : sink.rest_).push_chars(s);
    return true;
}

bool json_dump_sink::handler::on_key(json::string_view s, std::size_t n, error_code&)
{
    if (flat_element()) {
        if (sink.skip_depth_ == 0) {
            if (n == s.size())
                sink.field_.clear();
            sink.field_.append(s.data(), s.size());
        }
        return true;
    }
    if (sink.in_member_ && !sink.in_element_ && sink.depth_ == 2) {
        if (n == s.size())
            sink.element_key_.clear();
        sink.element_key_.append(s.data(), s.size());
        return true;
    }
    if (!sink.in_member_ && sink.depth_ == 1) {
        if (n == s.size())
            sink.top_key_.clear();
        sink.top_key_.append(s.data(), s.size());
    }
    (sink.in_element_ ? sink.element_ : sink.rest_).push_key(s);
    return true;
}

bool json_dump_sink::handler::on_string_part(json::string_view s, std::size_t n, error_code&)
{
    if (flat_element()) {
        if (n == s.size())
            sink.text_.clear();
        sink.text_.append(s.data(), s.size());
        return true;
    }
    target().push_chars(s);
    return true;
}

bool json_dump_sink::handler::on_string(json::string_view s, std::size_t n, error_code& ec)
{
    if (flat_element()) {
        if (n == s.size()) {
            flat_text(s);
        } else {
            sink.text_.append(s.data(), s.size());
            flat_text(sink.text_);
        }
        return true;
    }
    target().push_string(s);
    return scalar_done(ec);
}

bool json_dump_sink::handler::on_int64(std::int64_t v, json::string_view, error_code& ec)
{
    if (flat_element()) {
        flat_text(std::to_string(v));
        return true;
    }
    target().push_int64(v);
    return scalar_done(ec);
}

bool json_dump_sink::handler::on_uint64(std::uint64_t v, json::string_view, error_code& ec)
{
    if (flat_element()) {
        flat_text(std::to_string(v));
        return true;
    }
    target().push_uint64(v);
    return scalar_done(ec);
}

bool json_dump_sink::handler::on_double(double v, json::string_view, error_code& ec)
{
    if (flat_element()) {
        flat_text(json::serialize(json::value(v)));
        return true;
    }
    target().push_double(v);
    return scalar_done(ec);
}

bool json_dump_sink::handler::on_bool(bool v, error_code& ec)
{
    if (flat_element()) {
        if (sink.skip_depth_ == 0)
            sink.flat_->boolean(sink.field_, v);
        return true;
    }
    target().push_bool(v);
    return scalar_done(ec);
}

bool json_dump_sink::handler::on_null(error_code& ec)
{
    if (flat_element()) {
        flat_text("");
        return true;
    }
    target().push_null();
    return scalar_done(ec);
}

} // namespace fedora::fas::detail
