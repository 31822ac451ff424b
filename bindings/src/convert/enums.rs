//! The uniffi mirrors of core's enums: closed ones, and the ones records hold, which keep a
//! value this code does not know as `Unknown { value }`.

use fieldcrm_core as fc;

/// Declares a uniffi enum with the same variants as a core enum, and both `From`s. Closed
/// enums are field-less; enums whose values records hold (`stored`) add
/// `Unknown { value }`, as core's do: a value a newer app wrote, kept and shown as read.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident = $core:path { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name { $($variant),+ }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                use $core as C;
                match value { $(C::$variant => $name::$variant),+ }
            }
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                use $core as C;
                match value { $($name::$variant => C::$variant),+ }
            }
        }
    };
    (stored $(#[$meta:meta])* $name:ident = $core:path { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($variant,)+
            /// A value a newer app version wrote that this one does not know, as the record
            /// holds it: show it as unknown. It is kept when the record is saved, and the store
            /// refuses one the app did not read from the record.
            Unknown { value: String },
        }

        impl From<$core> for $name {
            fn from(value: $core) -> Self {
                use $core as C;
                match value {
                    $(C::$variant => $name::$variant,)+
                    C::Unknown(value) => $name::Unknown { value },
                }
            }
        }

        impl From<$name> for $core {
            fn from(value: $name) -> Self {
                use $core as C;
                match value {
                    $($name::$variant => C::$variant,)+
                    $name::Unknown { value } => C::Unknown(value),
                }
            }
        }
    };
}

mirror_enum!(
    /// The kinds of record.
    RecordKind = fc::Kind {
        Customer,
        Contact,
        Opportunity,
        Visit,
        Task,
        Case,
        Product,
        Order,
        Activity
    }
);
mirror_enum!(
    stored
    /// Order states; they only move on (draft, submitted, confirmed, then delivered or
    /// cancelled). Once submitted, an order's lines are frozen.
    OrderStatus = fc::OrderStatus {
        Draft,
        Submitted,
        Confirmed,
        Delivered,
        Cancelled,
    }
);
mirror_enum!(stored CustomerKind = fc::CustomerKind { Company, Person });
mirror_enum!(stored Grade = fc::Grade { A, B, C });
mirror_enum!(
    stored LocationSource = fc::LocationSource {
        Gps,
        Geocoded,
        Manual
    }
);
mirror_enum!(
    stored Stage = fc::Stage {
        Lead,
        Qualified,
        Proposal,
        Negotiation,
        Won,
        Lost
    }
);
mirror_enum!(
    stored
    /// Visit states only move forward: planned < in progress < skipped < cancelled < done. From
    /// an unknown state the store refuses any change of status (`UnknownStatus`).
    VisitStatus = fc::VisitStatus { Planned, InProgress, Done, Cancelled, Skipped }
);
mirror_enum!(
    stored
    /// Whether a check-in happened at the customer (distance against the visit radius).
    Verification = fc::Verification { Verified, Uncertain, OutOfRange, NoCustomerLocation }
);
mirror_enum!(
    stored TaskStatus = fc::TaskStatus {
        Open,
        Done,
        Cancelled
    }
);
mirror_enum!(
    stored Severity = fc::Severity {
        Low,
        Medium,
        High,
        Critical
    }
);
mirror_enum!(
    stored CaseStatus = fc::CaseStatus {
        Open,
        InProgress,
        Resolved,
        Closed
    }
);
mirror_enum!(
    stored
    /// Who entered a satisfaction survey on the rep's phone.
    SurveyEntrant = fc::SurveyEntrant {
        Rep,
        Customer
    }
);
mirror_enum!(
    stored
    /// How the rep and the customer were in touch.
    ActivityChannel = fc::ActivityChannel {
        Call,
        Email,
        Meeting
    }
);
mirror_enum!(
    stored
    /// Who reached out: the customer (inbound) or the rep (outbound).
    ActivityDirection = fc::ActivityDirection {
        Inbound,
        Outbound
    }
);
mirror_enum!(
    /// Why the server refused a local change.
    RejectCode = fc::protocol::RejectCode {
        Forbidden,
        MalformedChange,
        ForeignActor,
        InvalidRecord,
        ImmutableField,
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_variant_maps_back() {
        for kind in fc::Kind::ALL {
            assert_eq!(fc::Kind::from(RecordKind::from(kind)), kind);
        }
        for status in fc::VisitStatus::ALL {
            assert_eq!(
                fc::VisitStatus::from(VisitStatus::from(status.clone())),
                *status
            );
        }
        for stage in fc::Stage::ALL {
            assert_eq!(fc::Stage::from(Stage::from(stage.clone())), *stage);
        }
        let unknown = fc::Stage::parse("on_hold");
        assert_eq!(
            Stage::from(unknown.clone()),
            Stage::Unknown {
                value: "on_hold".into()
            }
        );
        assert_eq!(fc::Stage::from(Stage::from(unknown.clone())), unknown);
    }
}
