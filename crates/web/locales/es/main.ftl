-product = civicpay

site-title = Pagar una factura municipal
skip-to-content = Ir al contenido principal
language-switch = Idioma
footer-privacy = Los datos de su tarjeta nunca se envían a este sitio: los pagos se realizan en la página de pago segura de la ciudad.
footer-powered = Con la tecnología de { -product }, pagos de código abierto para gobiernos locales.
back = Volver
start-again = Empezar de nuevo

home-title = Pagar una factura municipal en línea
home-intro = Elija su ciudad o municipio.
home-empty = Todavía no hay ninguna ciudad configurada en este sitio.

city-intro = ¿Qué desea pagar?
city-contact-heading = ¿Preguntas sobre una factura?
city-contact-phone = Teléfono
city-contact-email = Correo electrónico
city-contact-address = Dirección

lookup-title = Buscar su factura
lookup-intro = Escriba los datos impresos en su factura. Necesitamos ambos para encontrarla.
lookup-submit = Buscar mi factura
lookup-not-found = No encontramos ninguna factura con esos datos. Revise ambos e inténtelo de nuevo.

reference-account_number = Número de cuenta
reference-citation_number = Número de multa
reference-permit_number = Número de permiso
reference-licence_number = Número de licencia
reference-roll_number = Número de catastro
reference-reference_number = Número de referencia
reference-hint = Tal como aparece en su factura, por ejemplo { $example }.

verification-service_postal_code = Código postal de la dirección del servicio
verification-licence_plate = Placa del vehículo
verification-payer_last_name = Apellido que figura en la factura
verification-hint-service_postal_code = La dirección donde se presta el servicio, no su dirección postal si es distinta.
verification-hint-licence_plate = Del vehículo que recibió la multa.
verification-hint-payer_last_name = De la persona o empresa a la que va dirigida la factura.

error-summary-title = Hay un problema
error-prefix = Error:
error-reference-missing = Escriba el número impreso en su factura
error-reference-invalid = El número solo puede contener letras, dígitos, espacios y guiones, con un máximo de 64 caracteres
error-verification-missing = Escriba este dato: { $field }
error-verification-invalid = Este dato ({ $field }) solo puede contener letras, dígitos, espacios y guiones, con un máximo de 64 caracteres

bill-title = Su factura
bills-title = Facturas encontradas
bills-found = { $count ->
    [one] Encontramos una factura.
   *[other] Encontramos { $count } facturas.
}
bill-payer = Nombre
bill-reference = Referencia
bill-due-date = Fecha de vencimiento
bill-status = Estado
bill-charges = Cargos
bill-charge = Cargo
bill-amount = Importe
bill-total = Total
bill-paid-so-far = Pagado hasta ahora
bill-balance = Importe adeudado
bill-pay = Pagar { $amount }
bill-nothing-to-pay = No hay nada que pagar en esta factura.
status-open = Sin pagar
status-partially_paid = Pagada en parte
status-paid = Pagada
status-cancelled = Cancelada

pay-unavailable-title = El pago en línea aún no está disponible
pay-unavailable-body = Todavía no puede pagar esta factura en línea. Comuníquese con la ciudad para pagar de otra forma.

error-not-found-title = Página no encontrada
error-not-found-body = La página que solicitó no existe. Revise la dirección o empiece de nuevo desde la lista de ciudades.
error-rate-limited-title = Demasiados intentos
error-rate-limited-body = { $minutes ->
    [one] Ha hecho demasiados intentos. Inténtelo de nuevo en 1 minuto.
   *[other] Ha hecho demasiados intentos. Inténtelo de nuevo en { $minutes } minutos.
}
error-forbidden-title = Este formulario ha caducado
error-forbidden-body = Por su seguridad, no se pudo aceptar el formulario. Vuelva atrás, recargue la página e inténtelo de nuevo.
error-not-permitted-title = No tiene acceso a esta página
error-not-permitted-body = Su función no lo permite. Pida acceso al administrador de civicpay de su ciudad si lo necesita.
error-bad-request-title = Algo en la solicitud no es correcto
error-bad-request-body = No se pudo leer la información enviada. Vuelva atrás e inténtelo de nuevo.
error-server-title = Lo sentimos, hay un problema con el servicio
error-server-body = Inténtelo más tarde. No se ha cobrado nada.

date-long = { $day } de { $month } de { $year }
month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre

card-title = Escriba los datos de su tarjeta
card-paying-to = Pago a { $city }
card-for = Concepto
card-amount = Importe
card-name = Nombre en la tarjeta
card-number = Número de tarjeta
card-number-hint = El número largo en el frente de su tarjeta.
card-expiry = Fecha de vencimiento
card-expiry-hint = Por ejemplo, 04/28.
card-security-code = Código de seguridad
card-security-code-hint = Los últimos 3 dígitos al dorso de la tarjeta, o los 4 dígitos al frente de una American Express.
card-postal-code = Código postal de facturación
card-email = Correo electrónico para su recibo (opcional)
card-submit = Pagar { $amount }
card-secure-note = Los datos de su tarjeta solo van a esta página de pago segura, que no ejecuta scripts. La ciudad nunca ve el número de su tarjeta.
card-save = Guardar esta tarjeta para próximos pagos
card-save-consent = Guardamos el número de su tarjeta cifrado, nunca su código de seguridad, y solo lo usamos cuando usted paga a esta ciudad o activa el pago automático. Puede eliminarla en cualquier momento desde su cuenta.
card-attempts-left = { $count ->
    [one] Puede intentarlo una vez más.
   *[other] Puede intentarlo { $count } veces más.
}
error-card-name-missing = Escriba el nombre que figura en la tarjeta
error-card-postal-missing = Escriba el código postal de facturación
error-card-email-invalid = Escriba un correo electrónico como nombre@ejemplo.com
card-error-number-missing = Escriba el número de tarjeta
card-error-number-not-digits = El número de tarjeta solo puede contener dígitos y espacios
card-error-number-length = El número de tarjeta no tiene la longitud correcta
card-error-number-checksum = El número de tarjeta no es válido; revíselo e inténtelo de nuevo
card-error-brand-unsupported = Este tipo de tarjeta no se acepta; use Visa, Mastercard, American Express o Discover
card-error-expiry-missing = Escriba la fecha de vencimiento
card-error-expiry-format = Escriba la fecha de vencimiento como mes y año, por ejemplo 04/28
card-error-expired = La tarjeta está vencida; use otra tarjeta
card-error-security-code-missing = Escriba el código de seguridad
card-error-security-code-format = El código de seguridad tiene { $digits } dígitos
card-declined-do_not_honour = Su banco rechazó el pago. Pruebe con otra tarjeta o comuníquese con su banco.
card-declined-insufficient_funds = Su banco rechazó el pago: no hay fondos suficientes. Pruebe con otra tarjeta.
card-declined-stolen_card = Su banco rechazó el pago. Pruebe con otra tarjeta o comuníquese con su banco.
card-declined-expired_card = Su banco indica que la tarjeta está vencida. Pruebe con otra tarjeta.
card-declined-incorrect_cvc = El código de seguridad no es correcto. Revíselo e inténtelo de nuevo.
card-declined-acquirer_error = No se pudo procesar el pago. No se ha cobrado nada. Inténtelo de nuevo.
card-declined-final-title = No se realizó su pago
card-declined-final-body = El pago fue rechazado demasiadas veces. No se ha cobrado nada. Vuelva al sitio de la ciudad para empezar de nuevo o pagar de otra forma.
card-link-used-title = Este enlace de pago ya se usó
card-link-used-body = Por su seguridad, un enlace de pago funciona una sola vez. Vuelva al sitio de la ciudad y empiece el pago de nuevo.
card-link-expired-title = Este enlace de pago ha caducado
card-link-expired-body = Vuelva al sitio de la ciudad y empiece el pago de nuevo.
card-link-unknown-title = Este enlace de pago no es válido
card-link-unknown-body = Compruebe que copió el enlace completo, o vuelva al sitio de la ciudad y empiece de nuevo.
card-pending-title = Estamos confirmando su pago
card-pending-body = Su banco todavía no ha respondido. No pague de nuevo: el sitio de la ciudad mostrará el resultado en unos minutos.
card-finished-title = Este pago está completo
card-finished-body = No se necesita nada más en esta página.
card-return = Volver a { $city }

receipt-title = Pago recibido
receipt-intro = Gracias. Guarde esta página para sus registros.
receipt-reference = Referencia de la factura
receipt-amount = Importe pagado
receipt-card = Tarjeta
receipt-date = Fecha
receipt-payment-id = Referencia del pago
receipt-balance = Importe aún adeudado
receipt-contact = ¿Preguntas sobre este pago? Comuníquese con { $name }, { $phone }, { $email }.
payment-not-completed-title = Su pago no se completó
payment-not-completed-body = No se ha cobrado nada. Puede intentarlo de nuevo o pagar de otra forma.
payment-pending-title = Su pago se está confirmando
payment-pending-body = El banco todavía no ha confirmado el pago. No pague de nuevo; vuelva a consultar en unos minutos.
