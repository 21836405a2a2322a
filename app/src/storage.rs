//! What the page remembers in localStorage: the stated use and, per model, the
//! acknowledgement of its license. Nothing else is stored.

use fineprint_license::UseProfile;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

pub fn load_profile() -> UseProfile {
    storage()
        .and_then(|s| s.get_item("fineprint.use").ok().flatten())
        .and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

pub fn save_profile(p: &UseProfile) {
    if let (Some(s), Ok(j)) = (storage(), serde_json::to_string(p)) {
        let _ = s.set_item("fineprint.use", &j);
    }
}

pub fn get_flag(key: &str) -> bool {
    storage().and_then(|s| s.get_item(key).ok().flatten()).is_some()
}

pub fn set_flag(key: &str, on: bool) {
    if let Some(s) = storage() {
        let _ = if on { s.set_item(key, "1") } else { s.remove_item(key) };
    }
}
