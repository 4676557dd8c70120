-product = civicpay

site-title = Payer une facture municipale
skip-to-content = Passer au contenu principal
language-switch = Langue
footer-privacy = Les données de votre carte ne sont jamais transmises à ce site : les paiements se font sur la page de paiement sécurisée de la ville.
footer-powered = Propulsé par { -product }, des paiements libres pour les municipalités.
back = Retour
start-again = Recommencer

home-title = Payer une facture municipale en ligne
home-intro = Choisissez votre ville ou municipalité.
home-empty = Aucune ville n'est encore configurée sur ce site.

city-intro = Que souhaitez-vous payer?
city-contact-heading = Des questions sur une facture?
city-contact-phone = Téléphone
city-contact-email = Courriel
city-contact-address = Adresse

lookup-title = Trouver votre facture
lookup-intro = Saisissez les renseignements imprimés sur votre facture. Les deux sont nécessaires pour la trouver.
lookup-submit = Trouver ma facture
lookup-not-found = Nous n'avons trouvé aucune facture correspondant à ces renseignements. Vérifiez-les tous les deux et réessayez.

reference-account_number = Numéro de compte
reference-citation_number = Numéro de constat
reference-permit_number = Numéro de permis
reference-licence_number = Numéro de licence
reference-roll_number = Numéro de rôle
reference-reference_number = Numéro de référence
reference-hint = Tel qu'imprimé sur votre facture, par exemple { $example }.

verification-service_postal_code = Code postal de l'adresse desservie
verification-licence_plate = Numéro de plaque d'immatriculation
verification-payer_last_name = Nom de famille inscrit sur la facture
verification-hint-service_postal_code = L'adresse où le service est fourni, et non votre adresse postale si elle est différente.
verification-hint-licence_plate = Du véhicule visé par le constat.
verification-hint-payer_last_name = De la personne ou de l'entreprise à qui la facture est adressée.

error-summary-title = Il y a un problème
error-prefix = Erreur :
error-reference-missing = Saisissez le numéro imprimé sur votre facture
error-reference-invalid = Le numéro ne peut contenir que des lettres, des chiffres, des espaces et des traits d'union, 64 caractères au plus
error-verification-missing = Saisissez ce renseignement : { $field }
error-verification-invalid = Ce renseignement ({ $field }) ne peut contenir que des lettres, des chiffres, des espaces et des traits d'union, 64 caractères au plus

bill-title = Votre facture
bills-title = Factures trouvées
bills-found = { $count ->
    [one] Nous avons trouvé une facture.
   *[other] Nous avons trouvé { $count } factures.
}
bill-payer = Nom
bill-reference = Référence
bill-due-date = Date d'échéance
bill-status = État
bill-charges = Frais
bill-charge = Frais
bill-amount = Montant
bill-total = Total
bill-paid-so-far = Déjà payé
bill-balance = Montant dû
bill-pay = Payer { $amount }
bill-nothing-to-pay = Il n'y a rien à payer sur cette facture.
status-open = Non payée
status-partially_paid = Payée en partie
status-paid = Payée
status-cancelled = Annulée

pay-unavailable-title = Le paiement en ligne n'est pas encore offert
pay-unavailable-body = Vous ne pouvez pas encore payer cette facture en ligne. Communiquez avec la ville pour payer autrement.

error-not-found-title = Page introuvable
error-not-found-body = La page demandée n'existe pas. Vérifiez l'adresse ou recommencez à partir de la liste des villes.
error-rate-limited-title = Trop de tentatives
error-rate-limited-body = { $minutes ->
    [one] Vous avez fait trop de tentatives. Réessayez dans 1 minute.
   *[other] Vous avez fait trop de tentatives. Réessayez dans { $minutes } minutes.
}
error-forbidden-title = Ce formulaire a expiré
error-forbidden-body = Pour votre sécurité, le formulaire n'a pas pu être accepté. Revenez en arrière, rechargez la page et réessayez.
error-not-permitted-title = Vous n'avez pas accès à cette page
error-not-permitted-body = Votre rôle ne le permet pas. Adressez-vous à l'administrateur civicpay de votre ville si vous en avez besoin.
error-bad-request-title = Un élément de la demande est incorrect
error-bad-request-body = Les renseignements envoyés n'ont pas pu être lus. Revenez en arrière et réessayez.
error-server-title = Désolés, le service éprouve un problème
error-server-body = Réessayez plus tard. Aucun montant n'a été prélevé.

date-long = { $day } { $month } { $year }
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre

card-title = Saisissez les données de votre carte
card-paying-to = Paiement à { $city }
card-for = Objet
card-amount = Montant
card-name = Nom sur la carte
card-number = Numéro de carte
card-number-hint = Le long numéro au recto de votre carte.
card-expiry = Date d'expiration
card-expiry-hint = Par exemple, 04/28.
card-security-code = Code de sécurité
card-security-code-hint = Les 3 derniers chiffres au verso de la carte, ou les 4 chiffres au recto d'une carte American Express.
card-postal-code = Code postal de facturation
card-email = Adresse courriel pour votre reçu (facultatif)
card-submit = Payer { $amount }
card-secure-note = Les données de votre carte ne vont qu'à cette page de paiement sécurisée, qui n'exécute aucun script. La ville ne voit jamais votre numéro de carte.
card-save = Enregistrer cette carte pour mes prochains paiements
card-save-consent = Nous conservons le numéro de votre carte chiffré, jamais son code de sécurité, et ne l'utilisons que lorsque vous payez cette ville ou activez le paiement automatique. Vous pouvez la retirer à tout moment depuis votre compte.
card-attempts-left = { $count ->
    [one] Vous pouvez essayer encore une fois.
   *[other] Vous pouvez essayer encore { $count } fois.
}
error-card-name-missing = Saisissez le nom inscrit sur la carte
error-card-postal-missing = Saisissez le code postal de facturation
error-card-email-invalid = Saisissez une adresse courriel comme nom@exemple.com
card-error-number-missing = Saisissez le numéro de carte
card-error-number-not-digits = Le numéro de carte ne peut contenir que des chiffres et des espaces
card-error-number-length = Le numéro de carte n'a pas la bonne longueur
card-error-number-checksum = Le numéro de carte n'est pas valide; vérifiez-le et réessayez
card-error-brand-unsupported = Ce type de carte n'est pas accepté; utilisez Visa, Mastercard, American Express ou Discover
card-error-expiry-missing = Saisissez la date d'expiration
card-error-expiry-format = Saisissez la date d'expiration (mois et année), par exemple 04/28
card-error-expired = La carte est expirée; utilisez une autre carte
card-error-security-code-missing = Saisissez le code de sécurité
card-error-security-code-format = Le code de sécurité compte { $digits } chiffres
card-declined-do_not_honour = Votre banque a refusé le paiement. Essayez une autre carte ou communiquez avec votre banque.
card-declined-insufficient_funds = Votre banque a refusé le paiement : les fonds sont insuffisants. Essayez une autre carte.
card-declined-stolen_card = Votre banque a refusé le paiement. Essayez une autre carte ou communiquez avec votre banque.
card-declined-expired_card = Votre banque indique que la carte est expirée. Essayez une autre carte.
card-declined-incorrect_cvc = Le code de sécurité est incorrect. Vérifiez-le et réessayez.
card-declined-acquirer_error = Le paiement n'a pas pu être traité. Aucun montant n'a été prélevé. Réessayez.
card-declined-final-title = Votre paiement n'a pas été effectué
card-declined-final-body = Le paiement a été refusé trop de fois. Aucun montant n'a été prélevé. Retournez au site de la ville pour recommencer ou payer autrement.
card-link-used-title = Ce lien de paiement a déjà été utilisé
card-link-used-body = Pour votre sécurité, un lien de paiement ne fonctionne qu'une fois. Retournez au site de la ville et recommencez le paiement.
card-link-expired-title = Ce lien de paiement a expiré
card-link-expired-body = Retournez au site de la ville et recommencez le paiement.
card-link-unknown-title = Ce lien de paiement n'est pas valide
card-link-unknown-body = Vérifiez que vous avez copié le lien en entier, ou retournez au site de la ville et recommencez.
card-pending-title = Nous confirmons votre paiement
card-pending-body = Votre banque n'a pas encore répondu. Ne payez pas de nouveau : le site de la ville affichera le résultat d'ici quelques minutes.
card-finished-title = Ce paiement est terminé
card-finished-body = Rien d'autre n'est nécessaire sur cette page.
card-return = Retour à { $city }

receipt-title = Paiement reçu
receipt-intro = Merci. Conservez cette page pour vos dossiers.
receipt-reference = Référence de la facture
receipt-amount = Montant payé
receipt-card = Carte
receipt-date = Date
receipt-payment-id = Référence du paiement
receipt-balance = Montant encore dû
receipt-contact = Des questions sur ce paiement? Communiquez avec { $name }, { $phone }, { $email }.
payment-not-completed-title = Votre paiement n'a pas été effectué
payment-not-completed-body = Aucun montant n'a été prélevé. Vous pouvez réessayer ou payer autrement.
payment-pending-title = Votre paiement est en cours de confirmation
payment-pending-body = La banque n'a pas encore confirmé le paiement. Ne payez pas de nouveau; revenez dans quelques minutes.
