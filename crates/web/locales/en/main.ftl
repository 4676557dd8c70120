-product = civicpay

site-title = Pay a city bill
skip-to-content = Skip to main content
language-switch = Language
footer-privacy = Your card details are never sent to this site; payments are taken on the city's secure payment page.
footer-powered = Powered by { -product }, open-source payments for local government.
back = Back
start-again = Start again

home-title = Pay a city bill online
home-intro = Choose your city or town.
home-empty = No city has been set up on this site yet.

city-intro = What would you like to pay?
city-contact-heading = Questions about a bill?
city-contact-phone = Phone
city-contact-email = E-mail
city-contact-address = Address

lookup-title = Find your bill
lookup-intro = Enter the details printed on your bill. We need both to find it.
lookup-submit = Find my bill
lookup-not-found = We could not find a bill with those details. Check both and try again.

reference-account_number = Account number
reference-citation_number = Citation number
reference-permit_number = Permit number
reference-licence_number = Licence number
reference-roll_number = Roll number
reference-reference_number = Reference number
reference-hint = As printed on your bill, for example { $example }.

verification-service_postal_code = ZIP or postal code of the service address
verification-licence_plate = Licence plate
verification-payer_last_name = Last name on the bill
verification-hint-service_postal_code = The address where the service is provided, not your mailing address if it is different.
verification-hint-licence_plate = Of the vehicle that received the citation.
verification-hint-payer_last_name = Of the person or business the bill is addressed to.

error-summary-title = There is a problem
error-prefix = Error:
error-reference-missing = Enter the number printed on your bill
error-reference-invalid = The number can only contain letters, digits, spaces and hyphens, and at most 64 characters
error-verification-missing = Enter the { $field }
error-verification-invalid = The { $field } can only contain letters, digits, spaces and hyphens, and at most 64 characters

bill-title = Your bill
bills-title = Bills found
bills-found = { $count ->
    [one] We found one bill.
   *[other] We found { $count } bills.
}
bill-payer = Name
bill-reference = Reference
bill-due-date = Due date
bill-status = Status
bill-charges = Charges
bill-charge = Charge
bill-amount = Amount
bill-total = Total
bill-paid-so-far = Paid so far
bill-balance = Amount due
bill-pay = Pay { $amount }
bill-nothing-to-pay = There is nothing to pay on this bill.
status-open = Not paid
status-partially_paid = Partly paid
status-paid = Paid
status-cancelled = Cancelled

pay-unavailable-title = Online payment is not available yet
pay-unavailable-body = You cannot pay this bill online yet. Please contact the city to pay another way.

error-not-found-title = Page not found
error-not-found-body = The page you asked for does not exist. Check the address, or start again from the list of cities.
error-rate-limited-title = Too many attempts
error-rate-limited-body = { $minutes ->
    [one] You have tried too many times. Try again in 1 minute.
   *[other] You have tried too many times. Try again in { $minutes } minutes.
}
error-forbidden-title = This form has expired
error-forbidden-body = For your security, the form could not be accepted. Go back, reload the page and try again.
error-not-permitted-title = You do not have access to this page
error-not-permitted-body = Your role does not allow this. Ask your city's civicpay administrator if you need it.
error-bad-request-title = Something in the request was not right
error-bad-request-body = The information sent could not be read. Go back and try again.
error-server-title = Sorry, there is a problem with the service
error-server-body = Try again later. Nothing has been charged.

date-long = { $month } { $day }, { $year }
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

card-title = Enter your card details
card-paying-to = Payment to { $city }
card-for = For
card-amount = Amount
card-name = Name on card
card-number = Card number
card-number-hint = The long number on the front of your card.
card-expiry = Expiry date
card-expiry-hint = For example, 04/28.
card-security-code = Security code
card-security-code-hint = The last 3 digits on the back of the card, or the 4 digits on the front of an American Express card.
card-postal-code = Billing ZIP or postal code
card-email = E-mail address for your receipt (optional)
card-submit = Pay { $amount }
card-secure-note = Your card details go only to this secure payment page, which runs no scripts. The city never sees your card number.
card-save = Save this card for later payments
card-save-consent = We keep your card number encrypted, never its security code, and use it only when you pay this city or set up automatic payments. You can remove it at any time from your account.
card-attempts-left = { $count ->
    [one] You can try one more time.
   *[other] You can try { $count } more times.
}
error-card-name-missing = Enter the name on the card
error-card-postal-missing = Enter the billing ZIP or postal code
error-card-email-invalid = Enter an e-mail address like name@example.com
card-error-number-missing = Enter the card number
card-error-number-not-digits = The card number can only contain digits and spaces
card-error-number-length = The card number is not the right length
card-error-number-checksum = The card number is not valid; check it and try again
card-error-brand-unsupported = This type of card is not accepted; use Visa, Mastercard, American Express or Discover
card-error-expiry-missing = Enter the expiry date
card-error-expiry-format = Enter the expiry date as month and year, like 04/28
card-error-expired = The card has expired; use another card
card-error-security-code-missing = Enter the security code
card-error-security-code-format = The security code is { $digits } digits
card-declined-do_not_honour = Your bank declined the payment. Try another card or contact your bank.
card-declined-insufficient_funds = Your bank declined the payment: there are not enough funds. Try another card.
card-declined-stolen_card = Your bank declined the payment. Try another card or contact your bank.
card-declined-expired_card = Your bank says the card has expired. Try another card.
card-declined-incorrect_cvc = The security code is not correct. Check it and try again.
card-declined-acquirer_error = The payment could not be processed. Nothing has been charged. Try again.
card-declined-final-title = Your payment was not taken
card-declined-final-body = The payment was declined too many times. Nothing has been charged. Go back to the city's site to start again or to pay another way.
card-link-used-title = This payment link has already been used
card-link-used-body = For your security, a payment link works only once. Go back to the city's site and start the payment again.
card-link-expired-title = This payment link has expired
card-link-expired-body = Go back to the city's site and start the payment again.
card-link-unknown-title = This payment link is not valid
card-link-unknown-body = Check that you copied the whole link, or go back to the city's site and start again.
card-pending-title = We are confirming your payment
card-pending-body = Your bank has not answered yet. Do not pay again: the city's site will show the result within a few minutes.
card-finished-title = This payment is complete
card-finished-body = Nothing more is needed on this page.
card-return = Return to { $city }

receipt-title = Payment received
receipt-intro = Thank you. Keep this page for your records.
receipt-reference = Bill reference
receipt-amount = Amount paid
receipt-card = Card
receipt-date = Date
receipt-payment-id = Payment reference
receipt-balance = Amount still due
receipt-contact = Questions about this payment? Contact { $name }, { $phone }, { $email }.
payment-not-completed-title = Your payment was not completed
payment-not-completed-body = Nothing has been charged. You can try again or pay another way.
payment-pending-title = Your payment is being confirmed
payment-pending-body = The bank has not confirmed the payment yet. Do not pay again; check back in a few minutes.
