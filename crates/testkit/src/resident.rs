//! A resident paying a bill over plain HTTP, against the real binary: the
//! steps read as the resident takes them (`look_up`, `choose_to_pay`,
//! `pay_with_card`), so a test reads as the behaviour it checks. Redirects
//! are not followed, so a test sees each one.

use std::collections::BTreeMap;

/// A cookie jar good enough for one host (the portal and pay differ only
/// by port, and cookies do not): name → value.
#[derive(Default, Debug)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Keeps the cookies `response` set.
    pub fn take(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            if let Some((pair, _)) = value.to_str().unwrap_or_default().split_once(';')
                && let Some((k, v)) = pair.split_once('=')
            {
                self.0.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    /// The `Cookie` header for the next request.
    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The text between `start` and the next `end` in `text`.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let Some(from) = text.find(start).map(|i| i + start.len()) else {
        panic!("{start:?} not in page");
    };
    let rest = text.get(from..).unwrap_or_default();
    let Some(len) = rest.find(end) else {
        panic!("{end:?} not after {start:?}");
    };
    rest.get(..len).unwrap_or_default()
}

/// The hidden form token of a page.
pub fn form_token(page: &str) -> String {
    between(page, "name=\"form_token\" value=\"", "\"").to_owned()
}

/// A card as a resident types it.
#[derive(Debug, Clone, Copy)]
pub struct Card<'a> {
    pub name: &'a str,
    pub number: &'a str,
    pub expiry: &'a str,
    pub security_code: &'a str,
    pub postal_code: &'a str,
    pub email: &'a str,
}

impl Card<'_> {
    /// The simulator's card that is always approved.
    pub const VISA: Card<'static> = Card {
        name: "Ana Diaz",
        number: "4242 4242 4242 4242",
        expiry: "12/30",
        security_code: "123",
        postal_code: "62704",
        email: "",
    };
}

/// The card page pay showed: where it posts, and its form token.
#[derive(Debug, Clone)]
pub struct CardPage {
    pub url: String,
    pub html: String,
}

/// One resident with their own cookies.
#[derive(Debug)]
pub struct Resident {
    client: reqwest::Client,
    jar: Jar,
    portal: String,
    pay: String,
    /// The portal's form token, once a portal page was read.
    token: String,
}

impl Resident {
    /// A resident of the portal at `portal`, whose card page is on `pay`.
    pub fn new(portal: &str, pay: &str) -> Resident {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("an HTTP client: {e}"));
        Resident {
            client,
            jar: Jar::default(),
            portal: portal.to_owned(),
            pay: pay.to_owned(),
            token: String::new(),
        }
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self
            .client
            .get(url)
            .header("cookie", self.jar.header())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.jar.take(&response);
        response
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .client
            .post(url)
            .header("cookie", self.jar.header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.jar.take(&response);
        response
    }

    /// Reads a portal page (`path` from the portal's root) and keeps its
    /// form token.
    pub async fn open(&mut self, path: &str) -> String {
        let url = format!("{}{path}", self.portal);
        let page = text(self.get(&url).await).await;
        if page.contains("name=\"form_token\"") {
            self.token = form_token(&page);
        }
        page
    }

    /// Finds a bill on the look-up page at `path` (`/city/pay/type`) and
    /// returns the page that answers.
    pub async fn look_up(&mut self, path: &str, reference: &str, verification: &str) -> String {
        if self.token.is_empty() {
            self.open(path).await;
        }
        let token = self.token.clone();
        let url = format!("{}{path}", self.portal);
        let form = [
            ("form_token", token.as_str()),
            ("reference", reference),
            ("verification", verification),
        ];
        text(self.post(&url, &form).await).await
    }

    /// Presses the first Pay button on a bill page; returns where the
    /// portal sends the resident (pay's card start link).
    pub async fn choose_to_pay(&mut self, bill_page: &str) -> String {
        self.choose_to_pay_part(bill_page, None).await
    }

    /// Presses the first Pay button having typed `amount` into its amount
    /// field (a bill that may be paid in parts), or left it as it is.
    pub async fn choose_to_pay_part(&mut self, bill_page: &str, amount: Option<&str>) -> String {
        let action = between(bill_page, "<form method=\"post\" action=\"", "\"").to_owned();
        let token = self.token.clone();
        let url = format!("{}{action}", self.portal);
        let mut form = vec![("form_token", token.as_str())];
        form.extend(amount.map(|a| ("amount", a)));
        let to_pay = self.post(&url, &form).await;
        assert_eq!(to_pay.status(), 303, "pressing Pay redirects to pay");
        location(&to_pay)
    }

    /// Follows pay's start link to the card page.
    pub async fn open_card_page(&mut self, start_url: &str) -> CardPage {
        let started = self.get(start_url).await;
        assert_eq!(started.status(), 303, "the start link redirects");
        let url = format!("{}{}", self.pay, location(&started));
        let html = text(self.get(&url).await).await;
        CardPage { url, html }
    }

    /// Types `card` into the card page and submits it; returns pay's
    /// answer, unfollowed.
    pub async fn pay_with_card(&mut self, page: &CardPage, card: Card<'_>) -> reqwest::Response {
        let token = form_token(&page.html);
        let form = [
            ("form_token", token.as_str()),
            ("cardholder_name", card.name),
            ("card_number", card.number),
            ("expiry", card.expiry),
            ("security_code", card.security_code),
            ("postal_code", card.postal_code),
            ("email", card.email),
        ];
        self.post(&page.url, &form).await
    }

    /// The whole way from the look-up page to pay's answer to the card.
    pub async fn pay_bill(
        &mut self,
        path: &str,
        reference: &str,
        verification: &str,
        card: Card<'_>,
    ) -> reqwest::Response {
        let bill_page = self.look_up(path, reference, verification).await;
        let start = self.choose_to_pay(&bill_page).await;
        let card_page = self.open_card_page(&start).await;
        self.pay_with_card(&card_page, card).await
    }
}

/// Where a redirect points.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("a redirect, not {}", response.status()))
        .to_owned()
}

pub async fn text(response: reqwest::Response) -> String {
    response
        .text()
        .await
        .unwrap_or_else(|e| panic!("a page body: {e}"))
}
