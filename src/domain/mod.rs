//! Values that can only be built valid. Each `parse` takes raw input from the edge and
//! returns the value or a Portuguese message that tells the person what to fix.

mod action;
pub mod cnpj;
pub mod device;
mod email;
pub mod holidays;
pub mod inventory;
pub mod money;
pub mod notify;
mod password;
mod phone;
mod text;

pub use action::{Action, ActionGroup};
pub use cnpj::{Cnpj, format_cnpj as cnpj_format, normalize as cnpj_normalize};
pub use email::Email;
pub use money::{MonthlyFee, money_br};
pub use password::Password;
pub use phone::{Phone, format_phone as phone_format};
pub use text::{
    ApplicationStatus, BackupStatus, CompanyStatus, PrivacyKind, PrivacyStatus, RemoteStatus,
    RequestStatus, Role, UserStatus, ValidationStatus, fold, is_entity_id, local_path,
    required_text, single_line,
};
