// The supplier's brand: product name, colours, domain and logo, as its tenants will see them. Tenancy checks
// each value (hex colours at WCAG AA contrast, a PNG or JPEG of at most 100 KB, a host name) and the refusal
// is said on the outcome line; the logo travels base64-encoded in the mutation.
import { gql } from "../lib/api.js";
import { t } from "../lib/i18n.js";

const BRAND = "query { brand { productName primaryColour accentColour domain logoType } }";
const SET = `mutation ($name: String!, $primary: String!, $accent: String!, $domain: String, $logo: String, $type: String, $remove: Boolean!) {
  setBrand(productName: $name, primaryColour: $primary, accentColour: $accent, domain: $domain, logoBase64: $logo, logoType: $type, removeLogo: $remove) {
    brand { productName logoType } errors { field message } }
}`;
const form = document.getElementById("brand-form");
const outcome = document.getElementById("brand-outcome");

async function load() {
  const { brand } = await gql(BRAND);
  if (brand) {
    form.elements.product_name.value = brand.productName;
    form.elements.primary_colour.value = brand.primaryColour;
    form.elements.accent_colour.value = brand.accentColour;
    form.elements.domain.value = brand.domain ?? "";
    document.getElementById("current-logo").hidden = !brand.logoType;
  }
  form.setAttribute("aria-busy", "false");
}

// The chosen file's bytes as base64 (without the data: URL's prefix), or null with no file chosen.
function base64Of(file) {
  if (!file || !file.size) { return Promise.resolve(null); }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function save(event) {
  event.preventDefault();
  const data = new FormData(form);
  const file = data.get("logo");
  const variables = { name: data.get("product_name"), primary: data.get("primary_colour").trim(), accent: data.get("accent_colour").trim(),
    domain: data.get("domain").trim() || null, logo: await base64Of(file), type: file && file.size ? file.type : null,
    remove: data.has("remove_logo") };
  try {
    const payload = (await gql(SET, variables)).setBrand;
    outcome.textContent = payload.errors.length
      ? payload.errors.map((e) => t("brand.refused", { field: t(`brand.field.${e.field}`), message: e.message })).join(" ")
      : t("brand.saved", { name: payload.brand.productName });
    outcome.classList.toggle("error", payload.errors.length > 0);
    if (!payload.errors.length) { document.getElementById("current-logo").hidden = !payload.brand.logoType; }
  } catch (error) {
    outcome.textContent = t("portal.refused", { message: error.message });
  }
}

form.addEventListener("submit", save);
load().catch((error) => { outcome.textContent = t("portal.refused", { message: error.message }); });
