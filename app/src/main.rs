//! The page's entry point; its components are the library's (`lib.rs`).

fn main() {
    console_error_panic_hook::set_once();
    fineprint_app::register_service_worker();
    leptos::mount::mount_to_body(fineprint_app::App);
}
