//! A browser's cookie jar for the broker, kept by hand so tests can look
//! at, keep, drop or tamper with each cookie.

#![allow(dead_code)]

use std::collections::BTreeMap;

#[derive(Clone, Default)]
pub struct Jar {
    cookies: BTreeMap<String, String>,
}

impl Jar {
    /// Applies a response's `Set-Cookie` headers (an empty value or
    /// `Max-Age=0` removes the cookie).
    pub fn update(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.cookies.get(name)
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    pub fn remove(&mut self, name: &str) {
        self.cookies.remove(name);
    }

    pub fn names(&self) -> Vec<String> {
        self.cookies.keys().cloned().collect()
    }

    /// GETs `url` with these cookies, without following redirects, and
    /// keeps what the response sets.
    pub async fn get_url(&mut self, url: &str) -> reqwest::Response {
        self.send(super::broker::client().get(url)).await
    }

    pub async fn post_url(&mut self, url: &str) -> reqwest::Response {
        self.send(super::broker::client().post(url)).await
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let response = request
            .header("cookie", self.header())
            .send()
            .await
            .unwrap();
        self.update(&response);
        response
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}
