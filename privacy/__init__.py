"""Personal data: masking of emails, phones, ID and card numbers and addresses in shopper text
before it leaves the store (Label Studio, exports, the API)."""
