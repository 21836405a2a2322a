//! The report's vocabulary: the fields of the summary (the labelled corpus's
//! fields), named once here and used by the engine, the clause sheets of
//! `data/licenses/`, the findings, the command line and the page.

use serde::{Deserialize, Serialize};

macro_rules! fields {
    ($($variant:ident => $name:literal,)*) => {
        /// A field of the report's summary.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The name in the JSON summary and in the findings.
            pub fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }
        }
    };
}

fields! {
    LicenseId => "license_id",
    Spdx => "spdx",
    Family => "family",
    OsiApproved => "osi_approved",
    Category => "category",
    CommercialUse => "commercial_use",
    UserThresholdMau => "user_threshold_mau",
    RevenueThresholdUsd => "revenue_threshold_usd",
    UseRestrictions => "use_restrictions",
    AttributionRequired => "attribution_required",
    DerivativeNaming => "derivative_naming",
    OutputTrainingRestriction => "output_training_restriction",
    ShareAlike => "share_alike",
    RedistributionAllowed => "redistribution_allowed",
    TrainingDataDisclosed => "training_data_disclosed",
    DeclaredLicense => "declared_license",
    DeclaredMatchesText => "declared_matches_text",
}

impl Field {
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Fields a license's own text settles (a clause sheet may quote them); the
    /// rest describe the folder.
    pub fn of_license(self) -> bool {
        !matches!(self, Field::TrainingDataDisclosed | Field::DeclaredLicense | Field::DeclaredMatchesText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names_and_the_summary_keys() {
        let summary = serde_json::to_value(crate::check(&[])).expect("report");
        let keys: Vec<&str> = summary["summary"].as_object().expect("summary").keys().map(String::as_str).collect();
        for f in Field::ALL {
            assert_eq!(serde_json::to_value(f).expect("field"), f.name());
            assert!(keys.contains(&f.name()), "{} is not a summary key", f.name());
            assert_eq!(Field::parse(f.name()), Some(*f));
        }
        assert_eq!(keys.len(), Field::ALL.len());
    }
}
