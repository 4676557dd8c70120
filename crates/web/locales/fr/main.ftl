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
